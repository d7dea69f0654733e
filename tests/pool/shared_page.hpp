// SharedPage<T>: a T in anonymous shared memory, made before a pool forks, so tasks in the
// workers and the test see the same counters. Unmapped when the test ends, whatever happens.
#pragma once

#include <sys/mman.h>

#include <new>
#include <stdexcept>

namespace mproc::test {

template <class T>
class SharedPage {
 public:
  SharedPage() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    value_ = new (p) T{};
  }
  ~SharedPage() { ::munmap(value_, sizeof(T)); }
  SharedPage(const SharedPage&) = delete;
  SharedPage& operator=(const SharedPage&) = delete;
  T* get() const noexcept { return value_; }

 private:
  T* value_;
};

}  // namespace mproc::test
