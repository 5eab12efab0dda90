/* http_status.h - the reason phrases of the status codes the SDK names
 * (MC_STATUS_MAP in sdk/mchost/status.h, the one list). */
#ifndef MCHOST_HTTP_STATUS_H
#define MCHOST_HTTP_STATUS_H

#include "mchost.h"

/* The reason phrase of `status` ("Not Found"), or "" for a code the list
 * does not name. A static string. */
const char *http_status_reason(int status);

#endif
