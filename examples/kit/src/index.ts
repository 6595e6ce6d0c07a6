// @setgen/example-kit: what several runnable examples share (private; never a library's dependency).
export { pickBackend } from './backend.js';
export { meanCi } from './mean-ci.js';
