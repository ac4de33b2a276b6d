# Repairs include folders of imported targets that do not exist on this machine.
#
# The ROS 2 Jazzy wheels on PyPI (ros-jazzy-*) export their *__rosidl_generator_py targets with the include
# folders of the machine that built the wheels (/opt/python/cp311-cp311/include/python3.11 and a NumPy include
# folder below it). CMake refuses to generate when a linked imported target names a missing folder. At the end
# of the top-level directory, when every find_package() has run, each such folder is replaced by this
# machine's Python or NumPy include folder (from FindPython3) or dropped. Nothing in the installed wheels is
# edited. Where every include folder exists (an apt ROS install) this does nothing.

function(_spgrasp_fix_wheel_include_dirs)
  get_directory_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" IMPORTED_TARGETS)
  set(_python_found FALSE)
  set(_fixed "")
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_new_dirs "")
    set(_changed FALSE)
    foreach(_dir IN LISTS _dirs)
      # Generator expressions and existing folders are kept as they are.
      if(_dir MATCHES "^\\$<" OR EXISTS "${_dir}")
        list(APPEND _new_dirs "${_dir}")
        continue()
      endif()
      set(_changed TRUE)
      if(NOT _python_found)
        find_package(Python3 REQUIRED COMPONENTS Interpreter Development NumPy)
        set(_python_found TRUE)
      endif()
      if(_dir MATCHES "numpy")
        list(APPEND _new_dirs ${Python3_NumPy_INCLUDE_DIRS})
      elseif(_dir MATCHES "include/python3")
        list(APPEND _new_dirs ${Python3_INCLUDE_DIRS})
      endif()
    endforeach()
    if(_changed)
      list(REMOVE_DUPLICATES _new_dirs)
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_new_dirs}")
      list(APPEND _fixed ${_target})
    endif()
  endforeach()
  list(LENGTH _fixed _count)
  if(_count GREATER 0)
    message(STATUS "spgrasp_ros: repaired missing include folders of ${_count} imported targets "
                   "(ROS wheels built elsewhere)")
  endif()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _spgrasp_fix_wheel_include_dirs)
