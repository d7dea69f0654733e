// Compiled by check_compile.cmake with one -DMPROC_CASE_<name>; every case but "control" must
// fail with mproc's static_assert message.
#include <memory>
#include <string>
#include <vector>

#include "mproc/codec.hpp"

struct HoldsUniquePtr {
  std::unique_ptr<int> p;
};

struct SerializesUniquePtr {
  std::string name;
  std::unique_ptr<int> p;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, p);
  }
};

struct Fine {
  std::string name;
  std::vector<int> xs;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, xs);
  }
};

int main() {
#if defined(MPROC_CASE_unique_ptr_member)
  auto bytes = mproc::encode(HoldsUniquePtr{});
#elif defined(MPROC_CASE_vector_of_unique_ptr)
  auto bytes = mproc::encode(std::vector<std::unique_ptr<int> >{});
#elif defined(MPROC_CASE_serialize_member_unique_ptr)
  auto bytes = mproc::encode(SerializesUniquePtr{});
#elif defined(MPROC_CASE_decode_unique_ptr)
  std::vector<std::byte> bytes;
  auto v = mproc::decode<std::unique_ptr<int> >(bytes);
  (void)v;
#elif defined(MPROC_CASE_control)
  auto bytes = mproc::encode(Fine{"x", {1, 2}});
  auto back = mproc::decode<Fine>(bytes);
  (void)back;
#else
#error "no MPROC_CASE_* given"
#endif
  (void)bytes;
  return 0;
}
