# pando_check_link_closure(TARGET FORBIDDEN lib...): fails configuration when TARGET links any
# of the listed libraries, directly or through the targets it links (PUBLIC, PRIVATE and
# INTERFACE dependencies alike, since a static library's private dependencies are linked into
# every program that uses it). This is how a module's "may not depend on" column in
# ARCHITECTURE.md is enforced for the modules that promise it here; call it after every target
# is defined.
function(pando_check_link_closure target)
  cmake_parse_arguments(ARG "" "" "FORBIDDEN" ${ARGN})
  set(seen "")
  set(queue ${target})
  set(via_${target} "${target}")
  while(queue)
    list(POP_FRONT queue current)
    if(current IN_LIST seen OR NOT TARGET ${current})
      continue()
    endif()
    list(APPEND seen ${current})
    get_target_property(aliased ${current} ALIASED_TARGET)
    if(aliased)
      set(via_${aliased} "${via_${current}}")
      list(APPEND queue ${aliased})
      continue()
    endif()
    get_target_property(direct ${current} LINK_LIBRARIES)
    get_target_property(interface ${current} INTERFACE_LINK_LIBRARIES)
    foreach(lib IN LISTS direct interface)
      # $<LINK_ONLY:x> is how CMake records a static library's private dependency.
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" lib "${lib}")
      if(lib STREQUAL "" OR lib MATCHES "NOTFOUND$" OR lib MATCHES "^\\$<")
        continue()
      endif()
      if(lib IN_LIST ARG_FORBIDDEN)
        message(FATAL_ERROR "${target} may not link ${lib}, but it does: "
                            "${via_${current}} -> ${lib} (see ARCHITECTURE.md, Modules)")
      endif()
      if(NOT DEFINED via_${lib})
        set(via_${lib} "${via_${current}} -> ${lib}")
      endif()
      list(APPEND queue ${lib})
    endforeach()
  endwhile()
endfunction()
