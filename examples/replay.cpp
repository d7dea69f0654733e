// replay: debug the one input that crashed a pool worker, in this process.
//
// parse_record() writes through a null pointer for one malformed record among 8. The pool runs
// with replay_dir set: the crash is reported as WorkerCrashed, whose replay_file() holds that
// record's encoded input. The program then replays it twice in this process: with a harmless
// inspector (to show the exact input) and, when run as `replay --replay <file>`, with the
// crashing task itself, which is what you would do under gdb or an ASan build:
//
//   $ ./replay                  # maps, prints the saved file and the gdb command line
//   $ gdb --args ./replay --replay /tmp/mproc-replay-example-XXXX/mproc-replay-...-5.bin
//
// Exits 0 when exactly item 5 crashed, its file was saved and replays to the same record.
#include <mproc/mproc.hpp>
#include <mproc/replay.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

// A deliberate crash, kept from UBSan (make test-asan) so that it happens as in production.
__attribute__((noinline, no_sanitize("undefined"))) void write_through_null(std::size_t x) {
  volatile std::size_t* volatile p = nullptr;
  *p = x;
}

// "key=value" -> the length of value; a record without '=' hits the bug.
std::size_t parse_record(const std::string& record) {
  const auto eq = record.find('=');
  if (eq == std::string::npos) write_through_null(record.size());  // the bug
  return record.size() - eq - 1;
}

// Same argument type, no crash: what the saved input is.
std::string inspect(const std::string& record) { return record; }

}  // namespace

int main(int argc, char** argv) {
  mproc::init(argc, argv);
  if (argc == 3 && std::string(argv[1]) == "--replay") {
    std::printf("replaying %s\n", argv[2]);
    std::fflush(stdout);  // before the crash
    std::printf("parse_record returned %zu\n", mproc::replay(argv[2], parse_record));
    return 0;
  }

  std::string dir_template = std::filesystem::temp_directory_path() / "mproc-replay-example-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) return 2;
  const std::filesystem::path dir = dir_template;
  const bool keep = std::getenv("KEEP_REPLAY") != nullptr;
  int status = 1;
  {
    const std::vector<std::string> records{"a=1", "b=22", "c=333", "d=4", "e=55",
                                           "broken record", "g=7", "h=88"};
    mproc::Pool pool(mproc::PoolOptions{.processes = 2, .replay_dir = dir});
    const auto results = pool.try_map(parse_record, records);
    std::filesystem::path saved;
    std::size_t failures = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok()) continue;
      ++failures;
      try {
        std::rethrow_exception(results[i].error());
      } catch (const mproc::WorkerCrashed& e) {
        std::printf("item %zu: %s\n", e.index(), e.what());
        if (e.index() == 5) saved = e.replay_file();
      } catch (const std::exception& e) {
        std::printf("item %zu: unexpected %s\n", i, e.what());
      }
    }
    if (failures == 1 && !saved.empty()) {
      const std::string input = mproc::replay(saved, inspect);
      std::printf("\nsaved input of item 5: \"%s\"\ndebug it with%s:\n  gdb --args %s --replay %s\n",
                  input.c_str(), keep ? "" : " (run with KEEP_REPLAY=1 to keep the file)",
                  argv[0], saved.c_str());
      if (input == records[5]) status = 0;
    }
  }
  if (!keep) std::filesystem::remove_all(dir);
  std::printf("%s\n", status == 0 ? "OK" : "FAILED");
  return status;
}
