// Python twin: queues feeding tasks to worker processes and collecting results (multiprocessing
// docs, "Examples": "An example showing how to use queues to feed tasks to a collection of
// worker processes and collect the results").
//
//   def worker(input, output):
//       for func, args in iter(input.get, 'STOP'):
//           result = calculate(func, args)
//           output.put(result)
//
//   def calculate(func, args):
//       result = func(*args)
//       return '%s says that %s%s = %s' % (current_process().name, func.__name__, args, result)
//
//   def mul(a, b): time.sleep(0.5*random.random()); return a * b
//   def plus(a, b): time.sleep(0.5*random.random()); return a + b
//
//   def test():
//       NUMBER_OF_PROCESSES = 4
//       TASKS1 = [(mul, (i, 7)) for i in range(20)]
//       TASKS2 = [(plus, (i, 8)) for i in range(10)]
//       task_queue = Queue(); done_queue = Queue()
//       for task in TASKS1: task_queue.put(task)
//       for i in range(NUMBER_OF_PROCESSES):
//           Process(target=worker, args=(task_queue, done_queue)).start()
//       print('Unordered results:')
//       for i in range(len(TASKS1)): print('\t', done_queue.get())
//       for task in TASKS2: task_queue.put(task)
//       for i in range(len(TASKS2)): print('\t', done_queue.get())
//       for i in range(NUMBER_OF_PROCESSES): task_queue.put('STOP')
//
// A task here is a (function name, a, b) tuple; "STOP" is the sentinel, as in Python. The random
// sleeps are a few milliseconds instead of up to half a second. As in Python 3.14, the workers
// start with the forkserver method (mproc::init makes it the default): the queues reach them as
// arguments, their fds passed along. Exits 0 when every task's result arrived exactly once.
#include <mproc/mproc.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using Task = std::tuple<std::string, int, int>;  // ("mul" | "plus" | "STOP", a, b)

std::string calculate(const std::string& name, const Task& task) {
  const auto& [func, a, b] = task;
  const int result = func == "mul" ? a * b : a + b;
  return name + " says that " + func + "(" + std::to_string(a) + ", " + std::to_string(b) +
         ") = " + std::to_string(result);
}

void worker(std::string name, mproc::Queue<Task> input, mproc::Queue<std::string> output) {
  std::mt19937 rng(std::random_device{}());
  for (Task task = input.get(); std::get<0>(task) != "STOP"; task = input.get()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 5));  // the docs' random work
    output.put(calculate(name, task));
  }
}

// The result line without its "Process-N says that " prefix.
std::string what(const std::string& line) { return line.substr(line.find(" says that ") + 11); }

}  // namespace

int main(int argc, char** argv) {
  mproc::init(argc, argv);  // first: starts the forkserver, the default start method from now on
  constexpr int kProcesses = 4;
  std::vector<Task> tasks1, tasks2;
  for (int i = 0; i < 20; ++i) tasks1.emplace_back("mul", i, 7);
  for (int i = 0; i < 10; ++i) tasks2.emplace_back("plus", i, 8);

  mproc::Queue<Task> task_queue;
  mproc::Queue<std::string> done_queue;
  for (const auto& task : tasks1) task_queue.put(task);

  std::vector<mproc::Process> workers;
  for (int i = 0; i < kProcesses; ++i) {
    workers.emplace_back(worker, "Process-" + std::to_string(i + 1), task_queue, done_queue);
    workers.back().start();
  }

  std::multiset<std::string> got;
  std::printf("Unordered results:\n");
  for (std::size_t i = 0; i < tasks1.size(); ++i) {
    const std::string line = done_queue.get();
    std::printf("\t %s\n", line.c_str());
    got.insert(what(line));
  }
  for (const auto& task : tasks2) task_queue.put(task);
  for (std::size_t i = 0; i < tasks2.size(); ++i) {
    const std::string line = done_queue.get();
    std::printf("\t %s\n", line.c_str());
    got.insert(what(line));
  }
  for (int i = 0; i < kProcesses; ++i) task_queue.put(Task{"STOP", 0, 0});
  bool ok = true;
  for (auto& w : workers) {
    w.join();
    ok = ok && w.exitcode() == 0;
  }

  std::multiset<std::string> want;
  for (const auto& t : tasks1) want.insert(what(calculate("", t)));
  for (const auto& t : tasks2) want.insert(what(calculate("", t)));
  return ok && got == want && task_queue.empty() && done_queue.empty() &&
                 mproc::get_start_method() == mproc::StartMethod::forkserver
             ? 0
             : 1;
}
