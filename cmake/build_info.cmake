# Run at build time (cmake -P): writes build_info.cc with the version, the commit and the build
# day. configure_file leaves the file untouched when nothing changed, so an unchanged tree does not
# relink. Inputs: TELETRACE_VERSION, SOURCE_DIR, OUTPUT.
set(TELETRACE_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND commit)
    set(TELETRACE_COMMIT "${commit}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
                    WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE changes ERROR_QUIET)
    if(changes)
      string(APPEND TELETRACE_COMMIT "-dirty")
    endif()
  endif()
endif()
string(TIMESTAMP TELETRACE_BUILD_DATE "%Y-%m-%d" UTC)  # honours SOURCE_DATE_EPOCH
configure_file("${CMAKE_CURRENT_LIST_DIR}/build_info.cc.in" "${OUTPUT}" @ONLY)
