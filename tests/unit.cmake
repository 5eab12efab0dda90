# Unit tests (included from tests/CMakeLists.txt): host modules linked from
# the same objects as the executable (the mchost_core object library), no
# server.

# config, watch and snapshot load or copy the hello example.
foreach(unit config conffile watch snapshot)
  mchost_add_test(unit.${unit} TIMEOUT 30
                  DEFINITIONS HELLO_SO="$<TARGET_FILE:hello>" DEPENDS hello)
endforeach()

# notify.c and activation.c: systemd notification and socket activation.
mchost_add_test(unit.notify TIMEOUT 30)
mchost_add_test(unit.activation TIMEOUT 30)

# utc.c: the dates of the logs and the Date header, against strftime().
mchost_add_test(unit.utc TIMEOUT 60)

# http_status.c and enum mc_status: the one list of status codes.
mchost_add_test(unit.http_status TIMEOUT 30)

# proxy.c and forwarded.c: the PROXY protocol header, --trusted-proxies and
# the forwarding headers.
mchost_add_test(unit.proxy TIMEOUT 30)
mchost_add_test(unit.forwarded TIMEOUT 30)
# params.c, cookie.c, mime.c, multipart.c: the SDK's request helpers on
# requests made by hand (unit/request_fake.h).
foreach(unit params cookie multipart)
  mchost_add_test(unit.${unit} TIMEOUT 60)
endforeach()

# wsframe.c, wshandshake.c, sha1.c, base64.c: the WebSocket codec against
# RFC 6455's examples and rules, and the digest vectors.
mchost_add_test(unit.wsframe TIMEOUT 30)

# listen.c: the options of the TCP sockets it binds.
mchost_add_test(unit.listen TIMEOUT 30)

# range.c: the Range header against a resource of known size.
mchost_add_test(unit.range TIMEOUT 30)

# cond.c: conditional requests (If-Match, If-None-Match, the dates, If-Range).
mchost_add_test(unit.cond TIMEOUT 30)
