export function registerProbe(_p: import('commander').Command): void {}
