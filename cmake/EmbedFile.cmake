# hodu_embed_files(OUT_VAR out.c file...) makes out.c define, for each file,
#   const char hodu_embed_<stem>[];  (NUL-terminated contents)
# so the hodu binary carries the hand-written kernel layer it writes next to
# generated code, and needs no install tree at run time.
function(hodu_embed_files out_var out_c)
  set(_deps)
  foreach(f ${ARGN})
    list(APPEND _deps ${CMAKE_CURRENT_SOURCE_DIR}/${f})
  endforeach()
  # A ';' list would be split by the shell: pass the files comma-separated.
  string(REPLACE ";" "," _files "${_deps}")
  add_custom_command(
    OUTPUT ${out_c}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_c} "-DFILES=${_files}" -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/EmbedRun.cmake
    DEPENDS ${_deps} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/EmbedRun.cmake
    COMMENT "embedding kernel sources"
    VERBATIM)
  set(${out_var} ${out_c} PARENT_SCOPE)
endfunction()
