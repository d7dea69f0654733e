// Round trips of every supported type, the byte layout, and the encode entry points.
#include "mproc/codec.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace {

using Bytes = std::vector<std::byte>;

struct Point {  // trivially copyable, no serialize: sent as its bytes
  int x;
  int y;
  double z;
  friend bool operator==(const Point&, const Point&) = default;
};

enum class Color : std::uint8_t { red = 1, green = 2 };

struct NoDefault {  // trivially copyable without a default constructor
  explicit NoDefault(int v) : v(v) {}
  int v;
  friend bool operator==(const NoDefault&, const NoDefault&) = default;
};

struct Empty {
  friend bool operator==(const Empty&, const Empty&) = default;
};

struct Person {
  std::string name;
  int age = 0;
  std::vector<std::string> tags;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, age, tags);
  }
  friend bool operator==(const Person&, const Person&) = default;
};

struct WithOperators {  // ar & x and ar << x / ar >> x, cereal-style
  int a = 0;
  std::string b;
  template <class Ar>
  void save(Ar& ar) const {
    ar << a;
    ar& b;
  }
  template <class Ar>
  void load(Ar& ar) {
    ar >> a;
    ar& b;
  }
  friend bool operator==(const WithOperators&, const WithOperators&) = default;
};

// A trivially copyable type with serialize(): serialize() wins (as in cereal), so the padding
// between c and d is not sent.
struct PodWithSerialize {
  char c = 0;
  std::int64_t d = 0;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(c, d);
  }
  friend bool operator==(const PodWithSerialize&, const PodWithSerialize&) = default;
};

namespace third_party {
struct Celsius {
  double degrees = 0;
  bool operator==(const Celsius&) const = default;
  Celsius() = default;
  explicit Celsius(double d) : degrees(d) {}
  Celsius(const Celsius&) = default;
  Celsius& operator=(const Celsius&) = default;
  ~Celsius() {}  // not trivially copyable: needs the free serialize below
};
template <class Ar>
void serialize(Ar& ar, Celsius& c) {
  ar(c.degrees);
}
}  // namespace third_party

struct Tree {
  std::string label;
  std::vector<Tree> children;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(label, children);
  }
  friend bool operator==(const Tree&, const Tree&) = default;
};

struct ThrowsOnCopy {
  ThrowsOnCopy() = default;
  ThrowsOnCopy(const ThrowsOnCopy&) { throw 1; }
  ThrowsOnCopy& operator=(const ThrowsOnCopy&) = default;
  template <class Ar>
  void serialize(Ar&) {}
};

template <class T>
void expect_round_trip(const T& value) {
  SCOPED_TRACE(std::string(mproc::detail::type_name<T>()));
  const Bytes bytes = mproc::encode(value);
  EXPECT_EQ(mproc::encoded_size(value), bytes.size());
  EXPECT_EQ(mproc::decode<T>(bytes), value);

  std::vector<std::byte> buf(bytes.size());
  EXPECT_EQ(mproc::encode_into(std::span<std::byte>(buf), value), bytes.size());
  EXPECT_EQ(buf, bytes);
}

Bytes bytes_of(std::initializer_list<int> v) {
  Bytes out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

TEST(Codec, TriviallyCopyableValuesRoundTrip) {
  expect_round_trip(42);
  expect_round_trip(-1.5);
  expect_round_trip('x');
  expect_round_trip(std::uint64_t{0xdeadbeefcafebabe});
  expect_round_trip(Point{1, 2, 3.5});
  expect_round_trip(Color::green);
  expect_round_trip(NoDefault{7});
  expect_round_trip(std::chrono::milliseconds(1234));
  expect_round_trip(true);
  expect_round_trip(false);
}

TEST(Codec, TriviallyCopyableValuesAreTheirObjectBytes) {
  const Point p{1, 2, 3.5};
  const Bytes bytes = mproc::encode(p);
  ASSERT_EQ(bytes.size(), sizeof(Point));
  Point q{};
  std::memcpy(&q, bytes.data(), sizeof q);
  EXPECT_EQ(q, p);
}

TEST(Codec, EmptyTypesEncodeToNothing) {
  EXPECT_TRUE(mproc::encode(Empty{}).empty());
  EXPECT_TRUE(mproc::encode(std::monostate{}).empty());
  auto lambda = [](int x) { return x + 1; };
  EXPECT_TRUE(mproc::encode(lambda).empty());
  EXPECT_EQ(mproc::decode<decltype(lambda)>({})(1), 2);
  expect_round_trip(std::vector<Empty>(1000));
  expect_round_trip(std::tuple<>{});
}

TEST(Codec, StringsRoundTrip) {
  expect_round_trip(std::string());
  expect_round_trip(std::string("hello"));
  expect_round_trip(std::string(100000, 'z'));
  expect_round_trip(std::string("nul\0inside", 10));
  expect_round_trip(std::u16string(u"wide"));
}

TEST(Codec, StringIsUint64LengthThenBytes) {
  EXPECT_EQ(mproc::encode(std::string("ab")), bytes_of({2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'}));
}

TEST(Codec, VectorsRoundTrip) {
  expect_round_trip(std::vector<int>{});
  expect_round_trip(std::vector<int>{1, 2, 3});
  expect_round_trip(std::vector<std::string>{"", "a", std::string(300, 'b')});
  expect_round_trip(std::vector<std::vector<int>>{{}, {1}, {2, 3}});
  expect_round_trip(std::vector<bool>{true, false, true, true});
  expect_round_trip(std::vector<Point>{{1, 2, 3}, {4, 5, 6}});
  expect_round_trip(std::vector<NoDefault>{NoDefault{1}, NoDefault{2}});
}

TEST(Codec, LargeVectorRoundTripsAsCountThenOneBlock) {
  std::vector<double> big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<double>(i) * 0.5;
  const Bytes bytes = mproc::encode(big);
  ASSERT_EQ(bytes.size(), 8 + big.size() * sizeof(double));
  EXPECT_EQ(std::memcmp(bytes.data() + 8, big.data(), big.size() * sizeof(double)), 0);
  EXPECT_EQ(mproc::decode<std::vector<double>>(bytes), big);
}

TEST(Codec, VectorOfBoolIsOneByteEach) {
  EXPECT_EQ(mproc::encode(std::vector<bool>{true, false}),
            bytes_of({2, 0, 0, 0, 0, 0, 0, 0, 1, 0}));
}

TEST(Codec, ArraysPairsAndTuplesRoundTrip) {
  expect_round_trip(std::array<int, 4>{1, 2, 3, 4});
  expect_round_trip(std::array<std::string, 2>{"a", "bb"});
  expect_round_trip(std::array<bool, 3>{true, false, true});
  expect_round_trip(std::pair<int, std::string>{1, "one"});
  expect_round_trip(std::tuple<int, double, std::string, bool>{1, 2.5, "s", true});
}

TEST(Codec, OptionalRoundTripsAndUsesCerealsNulloptByte) {
  expect_round_trip(std::optional<int>{});
  expect_round_trip(std::optional<int>{5});
  expect_round_trip(std::optional<std::string>{"x"});
  EXPECT_EQ(mproc::encode(std::optional<std::uint8_t>{}), bytes_of({1}));
  EXPECT_EQ(mproc::encode(std::optional<std::uint8_t>{9}), bytes_of({0, 9}));
}

TEST(Codec, VariantRoundTripsEachAlternative) {
  using V = std::variant<int, std::string, std::monostate, std::vector<int>>;
  expect_round_trip(V{3});
  expect_round_trip(V{std::string("s")});
  expect_round_trip(V{std::monostate{}});
  expect_round_trip(V{std::vector<int>{1, 2}});
  EXPECT_EQ(mproc::encode(V{std::monostate{}}), bytes_of({2, 0, 0, 0}));
}

TEST(Codec, AssociativeContainersRoundTrip) {
  expect_round_trip(std::map<std::string, int>{});
  expect_round_trip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  expect_round_trip(std::unordered_map<int, std::string>{{1, "x"}, {2, "y"}, {3, "z"}});
  expect_round_trip(std::set<std::string>{"q", "r"});
  expect_round_trip(std::unordered_set<int>{4, 5, 6});
  expect_round_trip(std::map<int, std::map<int, std::set<int>>>{{1, {{2, {3, 4}}}}});
}

TEST(Codec, DeeplyComposedStandardTypesRoundTrip) {
  using T = std::vector<std::map<std::string, std::optional<std::variant<int, std::string>>>>;
  expect_round_trip(T{});
  expect_round_trip(T{{}, {{"a", 1}, {"b", std::nullopt}, {"c", std::string("see")}}});
}

TEST(Codec, UserTypesRoundTrip) {
  expect_round_trip(Person{"ada", 36, {"math", "engines"}});
  expect_round_trip(Person{});
  expect_round_trip(WithOperators{7, "seven"});
  expect_round_trip(third_party::Celsius{21.5});
  expect_round_trip(std::vector<Person>{{"a", 1, {}}, {"b", 2, {"t"}}});
  expect_round_trip(std::map<std::string, Person>{{"k", {"v", 3, {}}}});
}

TEST(Codec, SerializeMemberWinsOverTriviallyCopyable) {
  EXPECT_EQ(mproc::encoded_size(PodWithSerialize{}), 9u);
  expect_round_trip(PodWithSerialize{'c', -5});
}

TEST(Codec, RecursiveUserTypesRoundTrip) {
  Tree t{"root", {{"a", {}}, {"b", {{"c", {}}}}}};
  expect_round_trip(t);
  Tree deep{"0", {}};
  Tree* at = &deep;
  for (unsigned i = 1; i < mproc::detail::kMaxDepth; ++i) {
    at->children.push_back(Tree{std::to_string(i), {}});
    at = &at->children.back();
  }
  expect_round_trip(deep);
}

TEST(Codec, EncodingDeeperThanTheLimitThrowsInsteadOfProducingUndecodableBytes) {
  Tree deep{"0", {}};
  Tree* at = &deep;
  for (unsigned i = 0; i < mproc::detail::kMaxDepth; ++i) {
    at->children.push_back(Tree{"x", {}});
    at = &at->children.back();
  }
  EXPECT_THROW((void)mproc::encode(deep), mproc::Error);
}

TEST(Codec, EncodeToAppendsAfterExistingBytes) {
  Bytes out = bytes_of({0xaa, 0xbb});
  mproc::encode_to(out, std::string("x"));
  mproc::encode_to(out, std::uint16_t{0x0102});
  EXPECT_EQ(out, bytes_of({0xaa, 0xbb, 1, 0, 0, 0, 0, 0, 0, 0, 'x', 2, 1}));
}

TEST(Codec, EncodeIntoATooSmallBufferThrows) {
  std::array<std::byte, 9> buf{};
  EXPECT_THROW(mproc::encode_into(std::span<std::byte>(buf), std::string("ab")), mproc::Error);
  std::array<std::byte, 10> fits{};
  EXPECT_EQ(mproc::encode_into(std::span<std::byte>(fits), std::string("ab")), 10u);
}

TEST(Codec, ValuelessVariantIsAnEncodeError) {
  std::variant<int, ThrowsOnCopy> v;
  try {
    v.emplace<1>(ThrowsOnCopy{});
  } catch (int) {
  }
  ASSERT_TRUE(v.valueless_by_exception());
  EXPECT_THROW((void)mproc::encode(v), mproc::Error);
}

TEST(Codec, TransferableConceptMatchesTheApiList) {
  static_assert(mproc::Transferable<int>);
  static_assert(mproc::Transferable<const Point&>);
  static_assert(mproc::Transferable<std::vector<std::map<std::string, std::set<int>>>>);
  static_assert(mproc::Transferable<Person>);
  static_assert(mproc::Transferable<Tree>);
  static_assert(mproc::Transferable<std::variant<std::monostate, Person>>);
  static_assert(!mproc::Transferable<std::unique_ptr<int>>);
  static_assert(!mproc::Transferable<std::vector<std::unique_ptr<int>>>);
  static_assert(!mproc::Transferable<std::map<int, std::shared_ptr<int>>>);
  static_assert(!mproc::Transferable<std::optional<std::unique_ptr<int>>>);
  static_assert(!mproc::Transferable<std::tuple<int, std::unique_ptr<int>>>);
  SUCCEED();
}

}  // namespace
