export { createUiServer, type UiServer, type UiServerOptions } from './server.js';
export { assertSafeBind, isLoopbackHost, isAuthorized, type UiCredentials } from './auth.js';
export { crossSiteReason, CSRF_HEADER } from './cross-site.js';
export { BOARD_PATH } from './board.js';
