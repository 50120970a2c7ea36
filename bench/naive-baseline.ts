import { XMLParser } from 'fast-xml-parser'

/**
 * The script teams write by hand, for comparison: read the posture list once (no
 * pagination, no delta), and POST one record per failing posture, one after another,
 * without looking for an existing record. It is what the service replaces.
 */
export async function naiveSync (opts: { qualysUrl: string, qualysAuth: string, policyId: string, snUrl: string, snAuth: string, table: string }): Promise<{ posted: number, calls: number }> {
  let calls = 0
  const res = await fetch(`${opts.qualysUrl}/api/2.0/fo/compliance/posture/info/?action=list&policy_id=${opts.policyId}&details=Basic`, {
    headers: { authorization: opts.qualysAuth, 'x-requested-with': 'naive-script' }
  })
  calls++
  const doc = new XMLParser({ ignoreAttributes: true }).parse(await res.text())
  const info = doc?.POSTURE_INFO_LIST_OUTPUT?.RESPONSE?.INFO_LIST?.INFO
  const records: Array<Record<string, unknown>> = Array.isArray(info) ? info : info === undefined ? [] : [info]
  let posted = 0
  for (const r of records) {
    if (r.STATUS !== 'Failed') continue
    await fetch(`${opts.snUrl}/api/now/table/${opts.table}`, {
      method: 'POST',
      headers: { authorization: opts.snAuth, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ short_description: `Qualys Policy Compliance Failure: control ${String(r.CONTROL_ID)}`, status: 'Open', u_policy: opts.policyId })
    }).then((r) => r.text())
    calls++
    posted++
  }
  return { posted, calls }
}
