declare module '@tryghost/nql-lang' {
  const nqlLang: { parse(filter: string): Record<string, unknown>; lex(filter: string): unknown[] };
  export default nqlLang;
}
declare module '@tryghost/nql' {
  function nql(
    filter: string,
    options?: { expansions?: { key: string; replacement: string }[] },
  ): { queryJSON(record: object): boolean; parse(): object };
  export default nql;
}
