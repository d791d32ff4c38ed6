// The wire codec on partial, oversized and malformed input.
#include "ipc/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace superd::ipc {
namespace {

using nlohmann::json;

std::vector<std::string> texts(const std::vector<DecodedLine>& lines) {
  std::vector<std::string> out;
  for (const auto& line : lines) out.push_back(line.too_large ? "<too_large>" : line.text);
  return out;
}

TEST(LineDecoder, ByteByByte) {
  LineDecoder decoder;
  const std::string input = "{\"id\":1}\n{\"id\":2}\n";
  std::vector<std::string> got;
  for (char c : input) {
    auto lines = texts(decoder.feed(std::string_view(&c, 1)));
    got.insert(got.end(), lines.begin(), lines.end());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"{\"id\":1}", "{\"id\":2}"}));
  EXPECT_FALSE(decoder.mid_line());
}

TEST(LineDecoder, SeveralMessagesInOneFeedAndAPartialTail) {
  LineDecoder decoder;
  EXPECT_EQ(texts(decoder.feed("a\nb\n\nc")), (std::vector<std::string>{"a", "b", ""}));
  EXPECT_TRUE(decoder.mid_line());
  EXPECT_EQ(decoder.pending_bytes(), 1u);
  EXPECT_EQ(texts(decoder.feed("d\n")), (std::vector<std::string>{"cd"}));
  EXPECT_FALSE(decoder.mid_line());
}

TEST(LineDecoder, ExactlyTheLimitIsAccepted) {
  LineDecoder decoder;
  const std::string line(kMaxLineBytes, 'x');
  auto lines = decoder.feed(line + "\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].too_large);
  EXPECT_EQ(lines[0].text.size(), kMaxLineBytes);
}

TEST(LineDecoder, OneOverTheLimitIsTooLargeAtOnceThenRecovers) {
  LineDecoder decoder;
  // Reported as soon as the limit is passed, before any newline arrives.
  auto lines = decoder.feed(std::string(kMaxLineBytes + 1, 'x'));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].too_large);
  EXPECT_TRUE(decoder.discarding());
  EXPECT_EQ(decoder.pending_bytes(), 0u);  // nothing of it is kept
  // The rest of that line is skipped, once; then decoding resumes.
  EXPECT_TRUE(decoder.feed(std::string(5000, 'y')).empty());
  EXPECT_EQ(texts(decoder.feed("zz\nok\n")), (std::vector<std::string>{"ok"}));
  EXPECT_FALSE(decoder.discarding());
}

TEST(LineDecoder, OversizeAcrossFeedsAndWithItsNewlineInTheSameFeed) {
  LineDecoder decoder(8);
  EXPECT_TRUE(decoder.feed("12345").empty());
  EXPECT_EQ(texts(decoder.feed("6789\nnext\n")), (std::vector<std::string>{"<too_large>", "next"}));
  EXPECT_EQ(texts(decoder.feed("12345678\n")), (std::vector<std::string>{"12345678"}));
}

std::string error_code(const ParseResult& result) {
  const auto* error = std::get_if<RequestError>(&result);
  return error ? error->code : "";
}

std::optional<std::int64_t> error_id(const ParseResult& result) {
  return std::get<RequestError>(result).id;
}

TEST(ParseRequest, WellFormed) {
  auto result = parse_request(R"({"id": 7, "cmd": "status", "args": {"names": ["app"]}})");
  ASSERT_TRUE(std::holds_alternative<Request>(result));
  const Request& request = std::get<Request>(result);
  EXPECT_EQ(request.id, 7);
  EXPECT_EQ(request.cmd, "status");
  EXPECT_EQ(request.args, json({{"names", {"app"}}}));
}

TEST(ParseRequest, ArgsDefaultToAnEmptyObjectAndExtraKeysAreIgnored) {
  auto result = parse_request(R"({"id": -3, "cmd": "hello", "future": 1})");
  ASSERT_TRUE(std::holds_alternative<Request>(result));
  EXPECT_EQ(std::get<Request>(result).id, -3);
  EXPECT_TRUE(std::get<Request>(result).args.is_object());
  EXPECT_TRUE(std::get<Request>(result).args.empty());
}

TEST(ParseRequest, InvalidJson) {
  for (const std::string& line :
       {std::string(""), std::string("{"), std::string("{\"id\":1,}"), std::string("nope"),
        std::string("{\"id\":1}{\"id\":2}"), std::string("{\"id\":1,\"cmd\":\"st\0\"}", 18),
        std::string("\0", 1)}) {
    auto result = parse_request(line);
    EXPECT_EQ(error_code(result), err::bad_request) << line;
    EXPECT_FALSE(error_id(result)) << line;
  }
}

TEST(ParseRequest, InvalidUtf8IsRejected) {
  for (std::string bad : {std::string("\xff"), std::string("\xc3\x28"), std::string("\xed\xa0\x80"),
                          std::string("\xc0\xaf"), std::string("\xe2\x82")}) {
    const std::string line = R"({"id": 1, "cmd": "status", "args": {"x": ")" + bad + "\"}}";
    auto result = parse_request(line);
    EXPECT_EQ(error_code(result), err::bad_request);
    // The message quotes the input; it must still encode.
    EXPECT_NO_THROW(encode(make_error(std::get<RequestError>(result))));
  }
  // A lone surrogate escape is not a character either.
  EXPECT_EQ(error_code(parse_request(R"({"id": 1, "cmd": "log\ud800"})")), err::bad_request);
  // Valid multibyte text is fine.
  EXPECT_TRUE(std::holds_alternative<Request>(
      parse_request(R"({"id": 1, "cmd": "status", "args": {"x": "é€😀"}})")));
}

TEST(ParseRequest, NonObjectJson) {
  for (const char* line : {"[]", "7", "\"status\"", "null", "true", "[{\"id\":1,\"cmd\":\"status\"}]"})
    EXPECT_EQ(error_code(parse_request(line)), err::bad_request) << line;
}

TEST(ParseRequest, MissingOrMistypedIdGivesNullId) {
  for (const char* line :
       {R"({"cmd": "status"})", R"({"id": "7", "cmd": "status"})", R"({"id": 7.5, "cmd": "status"})",
        R"({"id": 7.0, "cmd": "status"})", R"({"id": null, "cmd": "status"})",
        R"({"id": true, "cmd": "status"})", R"({"id": 9223372036854775808, "cmd": "status"})",
        R"({"id": [1], "cmd": "status"})"}) {
    auto result = parse_request(line);
    EXPECT_EQ(error_code(result), err::bad_request) << line;
    EXPECT_FALSE(error_id(result)) << line;
  }
  auto biggest = parse_request(R"({"id": 9223372036854775807, "cmd": "hello"})");
  ASSERT_TRUE(std::holds_alternative<Request>(biggest));
  EXPECT_EQ(std::get<Request>(biggest).id, INT64_MAX);
}

TEST(ParseRequest, MissingOrMistypedCmdKeepsTheId) {
  for (const char* line : {R"({"id": 4})", R"({"id": 4, "cmd": 5})", R"({"id": 4, "cmd": null})",
                           R"({"id": 4, "cmd": ["status"]})"}) {
    auto result = parse_request(line);
    EXPECT_EQ(error_code(result), err::bad_request) << line;
    EXPECT_EQ(error_id(result), 4) << line;
  }
}

TEST(ParseRequest, ArgsMustBeAnObject) {
  for (const char* line : {R"({"id": 4, "cmd": "status", "args": []})",
                           R"({"id": 4, "cmd": "status", "args": null})",
                           R"({"id": 4, "cmd": "status", "args": "app"})"}) {
    auto result = parse_request(line);
    EXPECT_EQ(error_code(result), err::bad_request) << line;
    EXPECT_EQ(error_id(result), 4) << line;
  }
}

TEST(ParseRequest, UnknownCommand) {
  auto result = parse_request(R"({"id": 9, "cmd": "explode"})");
  EXPECT_EQ(error_code(result), err::unknown_command);
  EXPECT_EQ(error_id(result), 9);
  EXPECT_NE(std::get<RequestError>(result).message.find("explode"), std::string::npos);
  // Case matters; the name is quoted back bounded.
  EXPECT_EQ(error_code(parse_request(R"({"id": 9, "cmd": "STATUS"})")), err::unknown_command);
  const std::string huge = R"({"id": 9, "cmd": ")" + std::string(100000, 'a') + "\"}";
  EXPECT_LT(std::get<RequestError>(parse_request(huge)).message.size(), 200u);
}

TEST(ParseRequest, EveryKnownCommandParses) {
  for (std::string_view name : cmd::all) {
    const std::string line = R"({"id": 1, "cmd": ")" + std::string(name) + "\"}";
    EXPECT_TRUE(std::holds_alternative<Request>(parse_request(line))) << name;
  }
}

TEST(ParseRequest, DeepNestingIsRefusedWithoutRecursion) {
  const std::string deep = R"({"id": 1, "cmd": "status", "args": {"x": )" +
                           std::string(kMaxLineBytes / 2, '[') + std::string(kMaxLineBytes / 2, ']') + "}}";
  EXPECT_EQ(error_code(parse_request(deep)), err::bad_request);
  // Brackets inside strings do not count.
  const std::string quoted = R"({"id": 1, "cmd": "status", "args": {"x": ")" + std::string(1000, '[') + "\"}}";
  EXPECT_TRUE(std::holds_alternative<Request>(parse_request(quoted)));
}

TEST(ParseRequest, ErrorMessagesAreBounded) {
  const std::string line = "{\"id\": 1, \"cmd\": \"status\", \"args\": {\"x\": " + std::string(500000, '1') + "x}}";
  auto result = parse_request(line);
  ASSERT_EQ(error_code(result), err::bad_request);
  EXPECT_LT(std::get<RequestError>(result).message.size(), 300u);
  // A number too big for a double is an error too, not an exception that escapes.
  EXPECT_EQ(error_code(parse_request(R"({"id": 1, "cmd": "status", "args": {"x": 1e999}})")),
            err::bad_request);
}

TEST(Encode, OneLineEndingInNewline) {
  const std::string line = encode(make_ok(3, {{"text", "a\nb"}}));
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // embedded newlines are escaped
  EXPECT_EQ(json::parse(line), json::parse(R"({"id":3,"ok":true,"result":{"text":"a\nb"}})"));
}

TEST(Encode, InvalidUtf8IsReplacedNotThrown) {
  const json message = make_stream_line(5, std::string("bad \xff\xfe bytes \xc3"));
  std::string line;
  ASSERT_NO_THROW(line = encode(message));
  const json back = json::parse(line);  // the result is valid UTF-8 JSON
  EXPECT_EQ(back["line"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD");
}

TEST(Replies, Shapes) {
  EXPECT_EQ(make_ok(1, {{"a", 1}}), json::parse(R"({"id":1,"ok":true,"result":{"a":1}})"));
  EXPECT_EQ(make_error(std::nullopt, err::bad_request, "x"),
            json::parse(R"({"id":null,"ok":false,"error":{"code":"bad_request","message":"x"}})"));
  EXPECT_EQ(make_error(2, err::failed, "app: fatal", {{"services", json::array()}}),
            json::parse(R"({"id":2,"ok":false,"error":{"code":"failed","message":"app: fatal"},
                            "result":{"services":[]}})"));
  EXPECT_EQ(make_stream_line(4, "hi"), json::parse(R"({"id":4,"line":"hi"})"));
}

}  // namespace
}  // namespace superd::ipc
