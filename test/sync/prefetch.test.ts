import { test } from 'tap'
import { readAhead } from '../../src/sync/prefetch.js'

test('reads one item ahead and yields every item in order', async (t) => {
  const log: string[] = []
  async function * source () {
    for (let i = 0; i < 3; i++) {
      log.push(`read ${i}`)
      yield i
    }
  }
  const seen: number[] = []
  for await (const item of readAhead(source())) {
    log.push(`use ${item}`)
    seen.push(item)
  }
  t.same(seen, [0, 1, 2])
  t.same(log.slice(0, 3), ['read 0', 'read 1', 'use 0'], 'item 1 was read before item 0 was used')
})

test('an error of the read-ahead reaches the consumer at that item, and stopping early closes the source', async (t) => {
  let closed = false
  async function * failing () {
    try {
      yield 1
      throw new Error('page 2 failed')
    } finally {
      closed = true
    }
  }
  const seen: number[] = []
  await t.rejects(async () => { for await (const item of readAhead(failing())) seen.push(item) }, /page 2 failed/)
  t.same(seen, [1])

  async function * endless () {
    try { for (let i = 0; ; i++) yield i } finally { closed = true }
  }
  closed = false
  for await (const item of readAhead(endless())) if (item === 2) break
  t.ok(closed, 'the source was closed')
})
