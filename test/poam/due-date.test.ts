import { test } from 'tap'
import { REMEDIATION_DAYS, addDays, datePart, earliest, latest, scheduledCompletionDate, utcDate } from '../../src/poam/due-date.js'

test('scheduled completion is detection + 30/90/180 days by risk', async (t) => {
  t.equal(scheduledCompletionDate('2024-01-01', 'High'), '2024-01-31')
  t.equal(scheduledCompletionDate('2024-01-01', 'Moderate'), '2024-03-31', 'leap year February counted')
  t.equal(scheduledCompletionDate('2024-01-01', 'Low'), '2024-06-29')
  t.same(REMEDIATION_DAYS, { High: 30, Moderate: 90, Low: 180 })
})

test('dates are UTC calendar days', async (t) => {
  t.equal(utcDate('2024-03-10T23:30:00-05:00'), '2024-03-11', 'an evening in New York is the next day in UTC')
  t.equal(addDays('2024-03-09', 1), '2024-03-10', 'no daylight-saving drift')
  t.equal(addDays('2023-12-31', 1), '2024-01-01')
  t.throws(() => utcDate('not a date'), RangeError)
  t.throws(() => addDays('2024-13-45', 1), RangeError)
})

test('datePart reads ServiceNow date and date-time values', async (t) => {
  t.equal(datePart('2024-05-01'), '2024-05-01')
  t.equal(datePart('2024-05-01 13:45:00'), '2024-05-01')
  t.equal(datePart(''), undefined)
  t.equal(datePart(undefined), undefined)
  t.equal(datePart('May 1st'), undefined)
})

test('latest and earliest compare instants, not strings', async (t) => {
  t.equal(latest('2024-05-01T10:00:00+02:00', '2024-05-01T09:00:00Z'), '2024-05-01T09:00:00Z')
  t.equal(earliest('2024-05-01T10:00:00+02:00', '2024-05-01T09:00:00Z'), '2024-05-01T10:00:00+02:00')
  t.equal(latest(undefined, 'x'), 'x')
  t.equal(earliest('y', undefined), 'y')
})
