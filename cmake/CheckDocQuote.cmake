# cmake -DDOC=<file.md> -DSOURCE=<file.cpp> -P CheckDocQuote.cmake
# Fails unless DOC quotes SOURCE verbatim: a guide's example is a program
# that builds and runs, and the page shows exactly that program.
file(READ "${DOC}" doc)
file(READ "${SOURCE}" source)
string(FIND "${doc}" "${source}" at)
if(at EQUAL -1)
  get_filename_component(name "${SOURCE}" NAME)
  message(FATAL_ERROR "${DOC} does not quote ${name} verbatim; paste the current ${name} into its cpp block")
endif()
message(STATUS "${DOC} quotes ${SOURCE}")
