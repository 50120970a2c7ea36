/**
 * Reads one item ahead of the consumer: while the engine writes page N to ServiceNow,
 * page N+1 is already being fetched and parsed from Qualys. Memory stays bounded (two
 * pages); an error of the read-ahead surfaces when the consumer reaches it.
 */
export async function * readAhead<T> (source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]()
  let next = iterator.next()
  // Mark the pending read as handled: if the consumer stops early, its failure is not unhandled.
  next.catch(() => {})
  try {
    for (;;) {
      const current = await next
      if (current.done === true) return
      next = iterator.next()
      next.catch(() => {})
      yield current.value
    }
  } finally {
    await iterator.return?.()
  }
}
