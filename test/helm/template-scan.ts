import { parseAllDocuments } from 'yaml'

/**
 * Static reading of Helm templates, for checks that need no `helm` binary: which
 * `.Values` paths the templates use, and the YAML skeleton left once the actions are
 * blanked out.
 */

export interface ValuesRef {
  path: string[]
  line: number
}

type Context =
  | { type: 'root' }
  | { type: 'values', path: string[] }
  | { type: 'unknown' }

interface Block { keyword: string, ctx: Context, outer: Context }

const ACTION = /\{\{-?([\s\S]*?)-?\}\}/g
// A field chain (`.a.b`), optionally rooted at `$`; not the tail of `$var.x`, `(...).x` or `a.b`.
const CHAIN = /(?<![\w)\].$])(\$?)((?:\.[A-Za-z_]\w*)+)/g

function stripStringsAndComments (action: string): string {
  return action
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/`[^`]*`/g, '""')
}

function chainsOf (expr: string): Array<{ rooted: boolean, parts: string[] }> {
  const out: Array<{ rooted: boolean, parts: string[] }> = []
  for (const m of expr.matchAll(CHAIN)) {
    out.push({ rooted: m[1] === '$', parts: (m[2] ?? '').split('.').filter(Boolean) })
  }
  return out
}

/** The values path a chain denotes in a context, or undefined when it is not one. */
function valuesPath (chain: { rooted: boolean, parts: string[] }, ctx: Context): string[] | undefined {
  if (chain.rooted || ctx.type === 'root') {
    return chain.parts[0] === 'Values' ? chain.parts.slice(1) : undefined
  }
  if (ctx.type === 'values') return [...ctx.path, ...chain.parts]
  return undefined
}

/** The context `with <expr>` sets: a values path when expr is exactly one, else unknown. */
function withContext (expr: string, ctx: Context): Context {
  const trimmed = expr.trim()
  if (!/^\$?(?:\.[A-Za-z_]\w*)+$/.test(trimmed)) return { type: 'unknown' }
  const [chain] = chainsOf(` ${trimmed}`)
  const path = chain === undefined ? undefined : valuesPath(chain, ctx)
  return path === undefined ? { type: 'unknown' } : { type: 'values', path }
}

/**
 * Every `.Values` path a template uses: direct `.Values.a.b` (or `$.Values.a.b`)
 * references, and fields read inside `with .Values.a` blocks (`.b` there is `a.b`).
 * Inside `range` the dot is an element of unknown shape, so only rooted paths count.
 */
export function valuesReferences (source: string): ValuesRef[] {
  const refs: ValuesRef[] = []
  const stack: Block[] = []
  const current = (): Context => stack.at(-1)?.ctx ?? { type: 'root' }
  for (const m of source.matchAll(ACTION)) {
    const line = source.slice(0, m.index).split('\n').length
    const action = stripStringsAndComments(m[1] ?? '').trim()
    const keyword = /^(\w+)/.exec(action)?.[1] ?? ''
    const ctxBefore = current()
    let expr = action

    if (keyword === 'end') {
      stack.pop()
      continue
    }
    if (keyword === 'else') {
      const top = stack.at(-1)
      expr = action.replace(/^else\s*/, '')
      if (top !== undefined) {
        top.ctx = top.outer
        if (expr.startsWith('with ')) top.ctx = withContext(expr.slice(5), top.outer)
      }
      for (const chain of chainsOf(expr.replace(/^(if|with)\s+/, ''))) {
        const path = valuesPath(chain, top?.outer ?? { type: 'root' })
        if (path !== undefined) refs.push({ path, line })
      }
      continue
    }

    if (['if', 'with', 'range', 'define', 'block'].includes(keyword)) expr = action.slice(keyword.length)
    for (const chain of chainsOf(expr)) {
      const path = valuesPath(chain, ctxBefore)
      if (path !== undefined) refs.push({ path, line })
    }
    if (keyword === 'if') stack.push({ keyword, ctx: ctxBefore, outer: ctxBefore })
    else if (keyword === 'with') stack.push({ keyword, ctx: withContext(expr, ctxBefore), outer: ctxBefore })
    else if (keyword === 'range') stack.push({ keyword, ctx: { type: 'unknown' }, outer: ctxBefore })
    // Named templates here are all called with the root context or a dict holding it.
    else if (keyword === 'define' || keyword === 'block') stack.push({ keyword, ctx: { type: 'root' }, outer: ctxBefore })
  }
  return refs
}

/** Whether `path` names a key that exists in `values` (every step an existing key). */
export function hasPath (values: unknown, path: string[]): boolean {
  let node: unknown = values
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return false
    node = (node as Record<string, unknown>)[key]
  }
  return true
}

/**
 * The manifest with actions blanked: lines holding only actions are dropped, inline
 * actions become a placeholder. Conditional branches all stay, so keys may repeat.
 */
export function skeleton (source: string): string {
  return source
    .split('\n')
    .filter((line) => line.replace(/\{\{-?[\s\S]*?-?\}\}/g, '').trim() !== '')
    .map((line) => line.replace(/\{\{-?[\s\S]*?-?\}\}/g, 'X'))
    .join('\n')
}

/** Parses the skeleton; throws on YAML errors. */
export function parseSkeleton (source: string): Array<Record<string, unknown>> {
  return parseAllDocuments(skeleton(source), { uniqueKeys: false }).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0]
    return doc.toJS() as Record<string, unknown>
  })
}

/** The first action of a template: the toggle that wraps the whole manifest, if any. */
export function firstAction (source: string): string {
  const m = /\{\{-?([\s\S]*?)-?\}\}/.exec(source)
  return (m?.[1] ?? '').trim()
}
