/** The line a function host prints once its handler listens, followed by the port number. */
export const HOST_READY_PREFIX = "cjh-function-host-port=";
