// worker_state: one "parser" per worker, built once and used by every task that worker runs.
//
// The Parser below stands for a library object that is expensive to set up and not thread-safe
// (a grammar, a model, a database connection): it builds a keyword table when constructed and
// reuses one scratch buffer for every line. PoolOptions::worker_state builds one in each worker
// (with the table's configuration as the factory's argument, copied to every worker); tasks reach
// it with mproc::worker_state<Parser>(). mproc::worker_id() tells the tasks apart by worker.
// The program checks every parsed line and exits 0 only if all are right and each worker built
// exactly one parser.
#include <mproc/mproc.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace {

class Parser {
 public:
  explicit Parser(const std::vector<std::string>& keywords) {
    for (std::size_t i = 0; i < keywords.size(); ++i) table_[keywords[i]] = static_cast<int>(i);
  }
  Parser(const Parser&) = delete;  // one per worker: never copied, never sent
  Parser& operator=(const Parser&) = delete;

  // "key=value;key=value": the sum of keyword index * value over the known keys.
  long parse(const std::string& line) {
    long sum = 0;
    std::size_t start = 0;
    while (start < line.size()) {
      std::size_t end = line.find(';', start);
      if (end == std::string::npos) end = line.size();
      scratch_.assign(line, start, end - start);  // the shared buffer: not thread-safe
      const std::size_t eq = scratch_.find('=');
      const auto it = table_.find(scratch_.substr(0, eq));
      if (it != table_.end()) sum += it->second * std::stol(scratch_.substr(eq + 1));
      start = end + 1;
    }
    ++lines_;
    return sum;
  }
  [[nodiscard]] long lines() const { return lines_; }

 private:
  std::map<std::string, int> table_;
  std::string scratch_;
  long lines_ = 0;
};

// The factory: runs once in each worker (again in a replacement), returns the state by value.
Parser make_parser(std::vector<std::string> keywords) { return Parser(keywords); }

struct Parsed {
  long value;
  int worker;       // mproc::worker_id()
  long parser_use;  // how many lines this worker's parser had parsed, this one included
};

Parsed parse_line(std::string line) {
  Parser& parser = mproc::worker_state<Parser>();
  const long value = parser.parse(line);
  return Parsed{value, mproc::worker_id(), parser.lines()};
}

}  // namespace

int main(int argc, char** argv) {
  mproc::init(argc, argv);
  const std::vector<std::string> keywords{"zero", "one", "two", "three"};
  std::vector<std::string> lines;
  std::vector<long> want;
  for (int i = 0; i < 200; ++i) {
    lines.push_back("one=" + std::to_string(i) + ";three=2;unknown=9");
    want.push_back(i + 6);
  }

  mproc::Pool pool(mproc::PoolOptions{
      .processes = 4, .worker_state = mproc::WorkerState(make_parser, keywords)});
  const std::vector<Parsed> out = pool.map(parse_line, lines);

  bool ok = true;
  std::map<int, long> per_worker;  // worker id -> lines its parser parsed
  for (std::size_t i = 0; i < out.size(); ++i) {
    ok = ok && out[i].value == want[i] && out[i].worker >= 0 && out[i].worker < 4;
    per_worker[out[i].worker] = std::max(per_worker[out[i].worker], out[i].parser_use);
  }
  // One parser per worker: the counts of all parsers add up to the number of lines.
  long total = 0;
  for (const auto& [worker, n] : per_worker) {
    std::printf("worker %d: its parser parsed %ld lines\n", worker, n);
    total += n;
  }
  ok = ok && total == static_cast<long>(lines.size());
  std::printf("%zu lines parsed: %s\n", out.size(), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
