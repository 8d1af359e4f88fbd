import type { Config } from '../config/config.js';

/**
 * Where the console lives and the links it hands out: under the gateway's own
 * port, at publicUrl when set (what people's browsers reach), else the listen address.
 */
export const CONSOLE_PATH = '/ghostgate/console';
export const REQUEST_PATH = '/ghostgate/request';

export function gatewayBaseUrl(config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${config.listen.port}`;
}

export const setupLink = (config: Config, token: string) => `${gatewayBaseUrl(config)}${CONSOLE_PATH}/setup?token=${token}`;
export const requestLink = (config: Config, token: string) => `${gatewayBaseUrl(config)}${REQUEST_PATH}?token=${token}`;
