import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'node_modules/**', 'openapi/**']
  }),
  {
    rules: {
      // `as const` objects paired with a same-named type replace enums (house style);
      // TypeScript itself reports real redeclarations.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
