#include "kvsweep/io/json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace kvsweep::io {
namespace {

TEST(Json, CompactObjectWithEveryKindOfValue) {
  std::ostringstream out;
  JsonWriter j(out, 0);
  j.begin_object()
      .field("i", -3)
      .field("u", std::uint64_t{18446744073709551615ULL})
      .field("d", 0.1)
      .field("b", true)
      .field("s", "a\"b\\c\n\t\x01")
      .key("nan")
      .value(std::nan(""))
      .key("inf")
      .value(std::numeric_limits<double>::infinity())
      .key("n")
      .null()
      .key("list")
      .begin_array()
      .value(1)
      .value(2.5)
      .begin_object()
      .end_object()
      .end_array()
      .key("empty")
      .begin_array()
      .end_array()
      .end_object();
  EXPECT_EQ(out.str(),
            "{\"i\":-3,\"u\":18446744073709551615,\"d\":0.10000000000000001,\"b\":true,"
            "\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\",\"nan\":null,\"inf\":null,\"n\":null,"
            "\"list\":[1,2.5,{}],\"empty\":[]}");
  EXPECT_TRUE(j.done());
}

TEST(Json, PrettyPrinted) {
  std::ostringstream out;
  JsonWriter j(out);
  j.begin_object().field("a", 1).key("b").begin_array().value("x").end_array().end_object();
  EXPECT_EQ(out.str(), "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ]\n}\n");
}

TEST(Json, DoublesRoundTrip) {
  std::ostringstream out;
  JsonWriter j(out, 0);
  const double v = 1.0 / 3.0;
  j.value(v);
  EXPECT_EQ(std::stod(out.str()), v);
}

TEST(Json, MisuseIsALogicError) {
  std::ostringstream out;
  JsonWriter j(out, 0);
  j.begin_object();
  EXPECT_THROW(j.value(1), std::logic_error);     // value without a key
  EXPECT_THROW(j.end_array(), std::logic_error);  // wrong closer
  j.key("k");
  EXPECT_THROW(j.key("k2"), std::logic_error);     // two keys in a row
  EXPECT_THROW(j.end_object(), std::logic_error);  // key without value
}

}  // namespace
}  // namespace kvsweep::io
