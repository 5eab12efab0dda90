# The cluster test (included from tests/CMakeLists.txt): three mchost
# "machines" in network namespaces behind a real HAProxy, scraped by a real
# Prometheus, both run from the files in contrib/, under client load
# through a rolling SIGHUP, a drained restart and crashes
# (tests/cluster/cluster.py says what it asserts). Root only: without root
# it skips (exit 77). `make test` installs haproxy, prometheus and
# python3-yaml. Alone: it creates network namespaces and loads both CPUs.

# cluster.c built twice: the two versions rolled out, "v1" and "v2". Built
# without sanitizers, like crash.so: its /crash faults on purpose.
mchost_add_fixture(cluster_v1 SOURCE plugins/cluster.c
                   DEFINITIONS VERSION="v1" NO_SANITIZE)
mchost_add_fixture(cluster_v2 SOURCE plugins/cluster.c
                   DEFINITIONS VERSION="v2" NO_SANITIZE)

add_test(NAME integration.cluster
         COMMAND Python3::Interpreter
                 "${CMAKE_CURRENT_SOURCE_DIR}/cluster/cluster.py"
                 --mchost "$<TARGET_FILE:mchost>"
                 --v1 "$<TARGET_FILE:mchost_fixture_cluster_v1>"
                 --v2 "$<TARGET_FILE:mchost_fixture_cluster_v2>"
                 --contrib "${PROJECT_SOURCE_DIR}/contrib")
set_tests_properties(integration.cluster PROPERTIES TIMEOUT 180
                     LABELS integration RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
