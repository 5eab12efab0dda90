# The parts of the docs that mchost itself prints (host/usage.c), from the
# one list of options (host/config.h) and of signals (host/master.h):
# docs/options.md whole, and the options and signals tables of README.md
# between their BEGIN and END markers.
#
#   cmake -DMCHOST=build/mchost -DSOURCE_DIR=. -P cmake/docs.cmake
#       writes them (`make docs`);
#   the same with -DCHECK=ON
#       changes nothing and fails if a file differs (the test docs.options).

if(NOT MCHOST OR NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DMCHOST=<mchost> -DSOURCE_DIR=<dir> "
                      "[-DCHECK=ON] -P docs.cmake")
endif()

# What `mchost --help-markdown <what>` prints, into <out>.
function(docs_generate what out)
  execute_process(COMMAND "${MCHOST}" --help-markdown ${what}
                  OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${MCHOST} --help-markdown ${what} failed (${rc})")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# <text> with what lies between the line that starts "<!-- BEGIN <name>"
# and the line "<!-- END <name> -->" replaced by <body>.
function(docs_splice text name body out)
  string(FIND "${text}" "<!-- BEGIN ${name}" begin)
  string(FIND "${text}" "<!-- END ${name} -->" end)
  if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
    message(FATAL_ERROR "README.md has no '<!-- BEGIN ${name}' ... "
                        "'<!-- END ${name} -->' markers")
  endif()
  string(SUBSTRING "${text}" ${begin} -1 tail)
  string(FIND "${tail}" "\n" eol)
  math(EXPR body_start "${begin} + ${eol} + 1")
  string(SUBSTRING "${text}" 0 ${body_start} head)
  string(SUBSTRING "${text}" ${end} -1 rest)
  set(${out} "${head}${body}${rest}" PARENT_SCOPE)
endfunction()

set(stale "")

# Writes <content> to <file>, or with CHECK notes that it differs.
function(docs_update file content)
  set(old "")
  if(EXISTS "${SOURCE_DIR}/${file}")
    file(READ "${SOURCE_DIR}/${file}" old)
  endif()
  if(old STREQUAL content)
    return()
  endif()
  if(CHECK)
    set(stale "${stale} ${file}" PARENT_SCOPE)
  else()
    file(WRITE "${SOURCE_DIR}/${file}" "${content}")
    message(STATUS "wrote ${file}")
  endif()
endfunction()

docs_generate(reference reference)
docs_update(docs/options.md "${reference}")

file(READ "${SOURCE_DIR}/README.md" readme)
docs_generate(options options)
docs_generate(signals signals)
docs_splice("${readme}" options "${options}" readme)
docs_splice("${readme}" signals "${signals}" readme)
docs_update(README.md "${readme}")

if(stale)
  message(FATAL_ERROR "out of date with host/config.h and host/master.h:"
                      "${stale}\nRun `make docs` to regenerate, and commit "
                      "the result.")
endif()
