// env_file parsing: the systemd EnvironmentFile= dialect, plus line-numbered errors.
#include "base/env_file.h"

#include <gtest/gtest.h>

namespace superd {
namespace {

using Vars = std::vector<std::pair<std::string, std::string>>;

Vars vars_of(std::string_view text) {
  EnvFileResult r = parse_env_file(text);
  for (const auto& e : r.errors) ADD_FAILURE() << "line " << e.line << ": " << e.message;
  return r.vars;
}

std::string errors_of(std::string_view text) {
  std::string out;
  for (const auto& e : parse_env_file(text).errors) out += std::to_string(e.line) + ": " + e.message + "\n";
  return out;
}

TEST(EnvFile, PlainAssignments) {
  EXPECT_EQ(vars_of("A=1\nB=two\n"), (Vars{{"A", "1"}, {"B", "two"}}));
  EXPECT_EQ(vars_of("A=1"), (Vars{{"A", "1"}}));  // no final newline
  EXPECT_EQ(vars_of("EMPTY=\n"), (Vars{{"EMPTY", ""}}));
  EXPECT_EQ(vars_of("_x9=y"), (Vars{{"_x9", "y"}}));
}

TEST(EnvFile, CommentsAndBlankLines) {
  EXPECT_EQ(vars_of("# comment\n\n   \n; also a comment\n  # indented\nA=1\n"), (Vars{{"A", "1"}}));
}

TEST(EnvFile, BlanksAroundKeyAndValueAreTrimmed) {
  EXPECT_EQ(vars_of("  A = spaced value  \n\tB\t=\tx\t\n"), (Vars{{"A", "spaced value"}, {"B", "x"}}));
}

TEST(EnvFile, ValueKeepsHashAndEquals) {
  // No comments after unquoted values: URLs and secrets contain '#'.
  EXPECT_EQ(vars_of("URL=postgres://u:p#w@h/db?a=b # not a comment\n"),
            (Vars{{"URL", "postgres://u:p#w@h/db?a=b # not a comment"}}));
}

TEST(EnvFile, ExportPrefix) {
  EXPECT_EQ(vars_of("export A=1\nexport\tB=2\n"), (Vars{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(vars_of("export=3\n"), (Vars{{"export", "3"}}));  // a variable named export
}

TEST(EnvFile, SingleQuotesAreLiteral) {
  EXPECT_EQ(vars_of("A='a \"b\" \\n $c'\n"), (Vars{{"A", "a \"b\" \\n $c"}}));
  EXPECT_EQ(vars_of("A='  padded  '\n"), (Vars{{"A", "  padded  "}}));
  EXPECT_EQ(vars_of("A='line1\nline2'\nB=2\n"), (Vars{{"A", "line1\nline2"}, {"B", "2"}}));
}

TEST(EnvFile, DoubleQuotesWithEscapes) {
  EXPECT_EQ(vars_of(R"(A="say \"hi\"")"), (Vars{{"A", "say \"hi\""}}));
  EXPECT_EQ(vars_of(R"(A="back\\slash \$HOME \`x\`")"), (Vars{{"A", "back\\slash $HOME `x`"}}));
  // Other backslashes stay, as systemd keeps them.
  EXPECT_EQ(vars_of(R"(A="C:\temp\n")"), (Vars{{"A", "C:\\temp\\n"}}));
  EXPECT_EQ(vars_of("A=\"one \\\ntwo\"\n"), (Vars{{"A", "one two"}}));  // continuation
  EXPECT_EQ(vars_of("A=\"multi\nline\"\nB=2\n"), (Vars{{"A", "multi\nline"}, {"B", "2"}}));
  EXPECT_EQ(vars_of("A=\"\"\n"), (Vars{{"A", ""}}));
}

TEST(EnvFile, CommentAfterClosingQuote) {
  EXPECT_EQ(vars_of("A=\"x\"   # note\nB='y' \n"), (Vars{{"A", "x"}, {"B", "y"}}));
}

TEST(EnvFile, UnquotedBackslashes) {
  EXPECT_EQ(vars_of("A=a\\ b\\\\c\n"), (Vars{{"A", "a b\\c"}}));
  EXPECT_EQ(vars_of("A=one \\\ntwo\nB=3\n"), (Vars{{"A", "one two"}, {"B", "3"}}));
  EXPECT_EQ(vars_of("A=keep\\ \n"), (Vars{{"A", "keep "}}));  // an escaped blank is not trimmed
}

TEST(EnvFile, CrlfAndByteOrderMark) {
  EXPECT_EQ(vars_of("\xEF\xBB\xBF" "A=1\r\nB=\"2\"\r\n"), (Vars{{"A", "1"}, {"B", "2"}}));
}

TEST(EnvFile, LaterDuplicatesAreKeptInOrder) {
  EXPECT_EQ(vars_of("A=1\nA=2\n"), (Vars{{"A", "1"}, {"A", "2"}}));
}

TEST(EnvFile, ErrorsCarryLineNumbers) {
  EXPECT_EQ(errors_of("A=1\nnot an assignment\nB-C=2\n9X=3\n=4\n"),
            "2: expected KEY=VALUE\n"
            "3: invalid variable name 'B-C' (use letters, digits and '_', not starting with a digit)\n"
            "4: invalid variable name '9X' (use letters, digits and '_', not starting with a digit)\n"
            "5: missing variable name before '='\n");
}

TEST(EnvFile, GoodLinesSurviveBadOnes) {
  EnvFileResult r = parse_env_file("A=1\nbad\nB=2\n");
  EXPECT_EQ(r.vars, (Vars{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(r.errors.size(), 1u);
}

TEST(EnvFile, UnterminatedQuotesReportTheOpeningLine) {
  EXPECT_EQ(errors_of("A=1\nB=\"open\nC=3\n"), "2: unterminated double quote\n");
  EXPECT_EQ(errors_of("A='open\n"), "1: unterminated single quote\n");
  EXPECT_EQ(errors_of("A=\"ends in backslash\\"), "1: unterminated double quote\n");
}

TEST(EnvFile, TextAfterClosingQuote) {
  EXPECT_EQ(errors_of("A=\"x\"y\nB=2\n"), "1: unexpected text after the closing quote\n");
  EXPECT_EQ(parse_env_file("A=\"x\"y\nB=2\n").vars, (Vars{{"B", "2"}}));
}

TEST(EnvFile, InvalidNameWithMultiLineValueDoesNotDesync) {
  // The quoted value is consumed even though the name is refused, so its second line is
  // not read as an entry of its own.
  EXPECT_EQ(errors_of("B-C=\"x\nY=z\"\nD=1\n"),
            "1: invalid variable name 'B-C' (use letters, digits and '_', not starting with a digit)\n");
}

TEST(EnvFile, NulBytesAreRefused) {
  EXPECT_EQ(errors_of(std::string_view("A=x\0y\n", 6)), "1: value of 'A' contains a NUL byte\n");
}

TEST(EnvFile, EmptyAndOddInputsDoNotCrash) {
  EXPECT_TRUE(parse_env_file("").vars.empty());
  EXPECT_TRUE(parse_env_file("\n\n\n").vars.empty());
  EXPECT_EQ(errors_of("\\"), "1: expected KEY=VALUE\n");
  EXPECT_EQ(vars_of("A=\\"), (Vars{{"A", ""}}));
  EXPECT_EQ(errors_of("export"), "1: expected KEY=VALUE\n");
  EXPECT_EQ(errors_of("\"\"=1"), "1: invalid variable name '\"\"' (use letters, digits and '_', not starting with a digit)\n");
}

}  // namespace
}  // namespace superd

namespace superd {
namespace {

TEST(EnvFile, NamesSuperdSetsItselfAreReserved) {
  for (const char* name : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "INVOCATION_ID"})
    EXPECT_TRUE(is_reserved_env_name(name)) << name;
  EXPECT_FALSE(is_reserved_env_name("LISTEN"));
  EXPECT_FALSE(is_reserved_env_name("DATABASE_URL"));
}

}  // namespace
}  // namespace superd
