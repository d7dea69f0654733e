// mproc's codec writes cereal's binary-archive layout (little-endian host): the same bytes for
// the common types, so each side decodes the other's output. cereal is a test-only dependency.
#include <gtest/gtest.h>

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <sstream>
#include <string>

#include "mproc/codec.hpp"

namespace {

using Bytes = std::vector<std::byte>;

struct Order {  // one serialize() for both libraries: cereal's convention
  std::string customer;
  std::vector<double> amounts;
  std::optional<std::string> note;
  std::map<std::string, int> counts;
  std::int16_t priority = 0;
  bool rush = false;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(customer, amounts, note, counts, priority, rush);
  }
  friend bool operator==(const Order&, const Order&) = default;
};

struct Line {
  std::vector<Order> orders;
  std::variant<int, std::string> tag;
  template <class Ar>
  void save(Ar& ar) const {
    ar(orders, tag);
  }
  template <class Ar>
  void load(Ar& ar) {
    ar(orders, tag);
  }
  friend bool operator==(const Line&, const Line&) = default;
};

template <class T>
Bytes cereal_encode(const T& value) {
  std::ostringstream os(std::ios::binary);
  {
    cereal::BinaryOutputArchive ar(os);
    ar(value);
  }
  const std::string s = os.str();
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

template <class T>
T cereal_decode(const Bytes& bytes) {
  std::istringstream is(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                        std::ios::binary);
  cereal::BinaryInputArchive ar(is);
  T value{};
  ar(value);
  return value;
}

// Same bytes both ways, and each side decodes the other's.
template <class T>
void expect_same_as_cereal(const T& value) {
  SCOPED_TRACE(std::string(mproc::detail::type_name<T>()));
  const Bytes ours = mproc::encode(value);
  const Bytes theirs = cereal_encode(value);
  EXPECT_EQ(ours, theirs);
  EXPECT_TRUE(mproc::decode<T>(theirs) == value);
  EXPECT_TRUE(cereal_decode<T>(ours) == value);
}

TEST(CerealCompat, ArithmeticValuesMatch) {
  expect_same_as_cereal(std::int32_t{-5});
  expect_same_as_cereal(std::uint64_t{1} << 40);
  expect_same_as_cereal(2.75);
  expect_same_as_cereal(true);
  expect_same_as_cereal('c');
}

TEST(CerealCompat, StringsAndVectorsMatch) {
  expect_same_as_cereal(std::string());
  expect_same_as_cereal(std::string("hello"));
  expect_same_as_cereal(std::vector<int>{});
  expect_same_as_cereal(std::vector<int>{1, -2, 3});
  expect_same_as_cereal(std::vector<std::string>{"a", "", "ccc"});
  expect_same_as_cereal(std::vector<bool>{true, false, true});
  expect_same_as_cereal(std::vector<std::vector<double>>{{1.5}, {}, {2, 3}});
}

TEST(CerealCompat, ArraysPairsAndTuplesMatch) {
  expect_same_as_cereal(std::array<int, 3>{1, 2, 3});
  expect_same_as_cereal(std::array<std::string, 2>{"x", "yz"});
  expect_same_as_cereal(std::pair<int, std::string>{7, "seven"});
  expect_same_as_cereal(std::tuple<int, double, std::string>{1, 2.5, "three"});
}

TEST(CerealCompat, OptionalAndVariantMatch) {
  expect_same_as_cereal(std::optional<int>{});
  expect_same_as_cereal(std::optional<int>{42});
  expect_same_as_cereal(std::optional<std::string>{"s"});
  expect_same_as_cereal(std::variant<int, std::string>{5});
  expect_same_as_cereal(std::variant<int, std::string>{std::string("five")});
}

TEST(CerealCompat, AssociativeContainersMatch) {
  expect_same_as_cereal(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  expect_same_as_cereal(std::set<int>{3, 1, 2});
  // One element, so iteration order cannot differ between the two encoders' inputs.
  expect_same_as_cereal(std::unordered_map<int, std::string>{{9, "nine"}});
}

TEST(CerealCompat, NestedStandardTypesMatch) {
  using T = std::vector<std::map<std::string, std::optional<std::variant<int, std::string>>>>;
  expect_same_as_cereal(T{{{"a", 1}, {"b", std::nullopt}}, {}, {{"c", std::string("see")}}});
}

TEST(CerealCompat, UserTypesWithSerializeOrSaveLoadMatch) {
  const Order order{"ada", {1.5, 2.5}, std::string("fragile"), {{"x", 1}}, -3, true};
  expect_same_as_cereal(order);
  expect_same_as_cereal(Order{});
  expect_same_as_cereal(Line{{order, Order{}}, std::string("tag")});
}

}  // namespace
