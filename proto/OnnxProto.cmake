# Compiles the ONNX schema with protoc-c at build time.  The schema is never
# copied into this repository: it comes from the installed `onnx` Python
# package (the one tools/setup.sh pins) or from Debian's libonnx-dev.
find_program(PROTOC_C protoc-c REQUIRED)
set(HODU_PYTHON "" CACHE FILEPATH "Python with the onnx package (finds onnx.proto)")
set(HODU_ONNX_PROTO "" CACHE FILEPATH "Path to onnx.proto")

if(NOT HODU_ONNX_PROTO)
  set(_py "${HODU_PYTHON}")
  if(NOT _py AND EXISTS "${CMAKE_SOURCE_DIR}/.venv/bin/python")
    set(_py "${CMAKE_SOURCE_DIR}/.venv/bin/python")
  endif()
  if(NOT _py)
    find_program(_py NAMES python3)
  endif()
  if(_py)
    execute_process(
      COMMAND "${_py}" -c "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'onnx.proto'))"
      OUTPUT_VARIABLE _proto OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
    if(_rc EQUAL 0 AND EXISTS "${_proto}")
      set(HODU_ONNX_PROTO "${_proto}")
    endif()
  endif()
  if(NOT HODU_ONNX_PROTO AND EXISTS /usr/include/onnx/onnx.proto)
    set(HODU_ONNX_PROTO /usr/include/onnx/onnx.proto)
  endif()
endif()
if(NOT HODU_ONNX_PROTO)
  message(FATAL_ERROR "onnx.proto not found: run tools/setup.sh (installs the pinned onnx package into .venv), "
                      "install Debian's libonnx-dev, or pass -DHODU_ONNX_PROTO=/path/to/onnx.proto")
endif()
message(STATUS "ONNX schema: ${HODU_ONNX_PROTO}")

get_filename_component(_proto_dir "${HODU_ONNX_PROTO}" DIRECTORY)
set(ONNX_PROTO_INCLUDE_DIR ${CMAKE_CURRENT_BINARY_DIR}/proto)
file(MAKE_DIRECTORY ${ONNX_PROTO_INCLUDE_DIR})
# protoc-c names its output after the input file; copy to a fixed name first
# so the generated header is always onnx.pb-c.h.
add_custom_command(
  OUTPUT ${ONNX_PROTO_INCLUDE_DIR}/onnx.pb-c.c ${ONNX_PROTO_INCLUDE_DIR}/onnx.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E copy "${HODU_ONNX_PROTO}" ${ONNX_PROTO_INCLUDE_DIR}/onnx.proto
  COMMAND ${PROTOC_C} --proto_path=${ONNX_PROTO_INCLUDE_DIR} --c_out=${ONNX_PROTO_INCLUDE_DIR}
          ${ONNX_PROTO_INCLUDE_DIR}/onnx.proto
  DEPENDS "${HODU_ONNX_PROTO}"
  COMMENT "protoc-c onnx.proto")
set(ONNX_PROTO_SOURCES ${ONNX_PROTO_INCLUDE_DIR}/onnx.pb-c.c)
