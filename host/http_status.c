/* http_status.c - status code to reason phrase, from MC_STATUS_MAP: the
 * status lines of the workers and of the admin listener. */
#include "http_status.h"

const char *http_status_reason(int status) {
  switch (status) {
#define X(code, name, reason)                                                  \
  case code:                                                                   \
    return reason;
    MC_STATUS_MAP(X)
#undef X
  }
  return "";
}
