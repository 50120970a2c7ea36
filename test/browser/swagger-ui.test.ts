import { test } from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { chromium, type Page } from 'playwright-core'
import { API_KEY, startWorld } from '../e2e/harness.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Expands an operation, edits its JSON body and runs it; answers the status Swagger UI shows. */
async function tryOperation (page: Page, id: string, body: string): Promise<{ status: string, text: string }> {
  const op = page.locator(`#${id}`)
  // tryItOutEnabled: an expanded operation is ready to edit and execute.
  await op.locator('.opblock-summary-control').click()
  await op.locator('textarea.body-param__text').fill(body)
  await op.locator('button.execute').click()
  const status = op.locator('.live-responses-table .response .response-col_status').first()
  await status.waitFor({ timeout: 60000 })
  return { status: (await status.innerText()).trim(), text: await op.locator('.live-responses-table .response .response-col_description').first().innerText() }
}

test('Swagger UI: authorize with an API key, run a dry-run sync and a preview', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)` }, async (t) => {
  const w = await startWorld({ qualys: { hosts: 25, controlsPerPolicy: 3 } })
  t.teardown(() => w.close())
  const address = await w.app.listen({ port: 0, host: '127.0.0.1' })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } })
  await page.goto(`${address}/docs`)
  await page.locator('.information-container .title').waitFor()
  t.match(await page.locator('.information-container .title').innerText(), 'qualys-servicenow-sync')

  // Without a key the API refuses: Swagger UI shows the 401.
  const refused = await tryOperation(page, 'operations-sync-startSync', '{"dryRun": true}')
  t.equal(refused.status, '401', 'no key, no sync')

  await page.locator('button.authorize').first().click()
  const bearer = page.locator('.auth-container').filter({ hasText: 'bearerAuth' })
  await bearer.locator('input').fill(API_KEY)
  await bearer.locator('button.authorize').click()
  await page.locator('button.btn-done').first().click()

  await page.locator('#operations-sync-startSync button.execute').click()
  const status = page.locator('#operations-sync-startSync .live-responses-table .response .response-col_status').first()
  await page.waitForFunction((el) => el !== null && el.textContent?.trim() !== '401', await status.elementHandle(), { timeout: 60000 })
  const synced = (await status.innerText()).trim()
  t.ok(['200', '202'].includes(synced), `the dry-run sync was accepted (${synced})`)
  t.equal(w.sn.stats.writes, 0, 'a dry run writes nothing')

  // The dry run stored findings: preview what a real sync would send for the failing ones.
  for (let i = 0; i < 100 && (await w.app.inject({ url: '/sync', headers: { 'x-api-key': API_KEY } })).json().items[0]?.status !== 'succeeded'; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const preview = await tryOperation(page, 'operations-poam-previewPoams', '{"filter": {"status": "failed"}}')
  t.equal(preview.status, '200', 'the preview ran')
  t.match(preview.text, /"action": "create"/, 'and shows the records a sync would create')

  mkdirSync(new URL('../../.tap/', import.meta.url), { recursive: true })
  await page.screenshot({ path: new URL('../../.tap/swagger-ui.png', import.meta.url).pathname, fullPage: false })
})
