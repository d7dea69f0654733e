# CTest example.image_batch: image_batch on a tiny generated set, then on that set plus two bad
# files. Run with -DIMAGE_BATCH=<binary> -DWORK_DIR=<scratch folder, removed at the end>.
file(REMOVE_RECURSE "${WORK_DIR}")
set(in "${WORK_DIR}/in")
set(out "${WORK_DIR}/out")

function(run_batch expected_code)
  execute_process(COMMAND "${IMAGE_BATCH}" ${ARGN} --workers 2
                  RESULT_VARIABLE code OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  message(STATUS "image_batch ${ARGN}:\n${stdout}${stderr}")
  if(NOT code STREQUAL "${expected_code}")
    file(REMOVE_RECURSE "${WORK_DIR}")
    message(FATAL_ERROR "image_batch ${ARGN}: exit code ${code}, expected ${expected_code}")
  endif()
  set(stdout "${stdout}" PARENT_SCOPE)
endfunction()

function(fail what)
  file(REMOVE_RECURSE "${WORK_DIR}")
  message(FATAL_ERROR "${what}")
endfunction()

# 1. The generated samples (one each of JPEG, PNG, BMP, PPM at least), all good.
run_batch(0 --samples 6 --sample-size 320x240 --cache "${in}" --output "${out}/gen" --size 64)
file(GLOB thumbs "${out}/gen/*.png")
list(LENGTH thumbs n)
if(NOT n EQUAL 6)
  fail("expected 6 thumbnails from the samples, got ${n}")
endif()

# 2. The same folder plus a text file named .png and a truncated PNG: both named, the rest done.
file(WRITE "${in}/not_an_image.png" "hello, I am text\n")
execute_process(COMMAND head -c 300 "${in}/sample_001.png" OUTPUT_FILE "${in}/truncated.png")
run_batch(2 --input "${in}" --output "${out}/mixed" --size 64 --format jpg --filter blur)
foreach(bad not_an_image.png truncated.png)
  if(NOT stdout MATCHES "FAILED [^\n]*/${bad}: cannot decode: ")
    fail("${bad} not reported as FAILED with a reason")
  endif()
endforeach()
file(GLOB thumbs "${out}/mixed/*.jpg")
list(LENGTH thumbs n)
if(NOT n EQUAL 6)
  fail("expected 6 thumbnails besides the 2 bad files, got ${n}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
