# orch_add_plugin(KIND k NAME n SOURCES ... [LIBS ...] [BUILTIN] [TEST])
#
# Builds <kind>-<name>.so as a MODULE that sees only the SDK headers, the
# plugin kit (orch_kit, always linked; orch_kit_http when named in LIBS) and
# the libraries it names. BUILTIN also compiles the same sources with
# ORCH_PLUGIN_STATIC into the core, so the plugin is an embedded default with
# no .so to find. TEST puts the module in the test-plugin directory and does
# not install it.
function(orch_add_plugin)
  cmake_parse_arguments(P "BUILTIN;TEST" "KIND;NAME" "SOURCES;LIBS" ${ARGN})
  set(id ${P_KIND}-${P_NAME})
  add_library(${id} MODULE ${P_SOURCES})
  set_target_properties(${id} PROPERTIES PREFIX "" OUTPUT_NAME ${id}
                        C_VISIBILITY_PRESET hidden)
  target_link_libraries(${id} PRIVATE orch_sdk orch_kit ${P_LIBS})
  target_link_options(${id} PRIVATE -Wl,--no-undefined -Wl,-z,defs)
  if(P_TEST)
    set_target_properties(${id} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ORCH_TEST_PLUGIN_OUTPUT_DIR})
  else()
    set_target_properties(${id} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ORCH_PLUGIN_OUTPUT_DIR})
    install(TARGETS ${id} LIBRARY DESTINATION ${ORCH_PLUGIN_SUBDIR})
  endif()
  if(P_BUILTIN)
    add_library(${id}-builtin OBJECT ${P_SOURCES})
    target_compile_definitions(${id}-builtin PRIVATE ORCH_PLUGIN_STATIC)
    set_target_properties(${id}-builtin PROPERTIES C_VISIBILITY_PRESET hidden)
    target_link_libraries(${id}-builtin PRIVATE orch_sdk orch_kit ${P_LIBS})
    set_property(GLOBAL APPEND PROPERTY ORCH_BUILTINS "${P_KIND}:${P_NAME}")
    set_property(GLOBAL APPEND PROPERTY ORCH_BUILTIN_LIBS orch_kit ${P_LIBS})
  endif()
endfunction()
