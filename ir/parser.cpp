// The IR parser: a small lexer (tokens with line:column) and a recursive-descent parser
// over the grammar of docs/ir.md. It builds nodes with ir::make_node and type checks
// each one with verify_node, turning any VerifyError into a ParseError at the node.
#include "ir/parser.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace kiln::ir {

namespace {

// ---- lexer --------------------------------------------------------------------------

enum class Tok { End, Ident, Value, Global, Int, Float, Hex, String, Punct, Arrow };

struct Token {
  Tok kind = Tok::End;
  std::string text;  // identifier, name without sigil, number, unescaped string, punct
  int line = 1;
  int col = 1;
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_name_char(char c) { return is_alpha(c) || is_digit(c) || c == '.'; }

std::string show_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("byte 0x") + kDigits[u >> 4] + kDigits[u & 0xf];
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    for (;;) {
      skip_space();
      Token t;
      t.line = line_;
      t.col = col_;
      if (i_ >= s_.size()) {
        out.push_back(t);
        return out;
      }
      lex_one(t);
      out.push_back(std::move(t));
    }
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
  int line_ = 1, col_ = 1;

  char at(size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }
  void advance(size_t n = 1) {
    for (size_t k = 0; k < n && i_ < s_.size(); ++k, ++i_) {
      if (s_[i_] == '\n') {
        ++line_;
        col_ = 1;
      } else {
        ++col_;
      }
    }
  }
  [[noreturn]] void error(const std::string& msg) const { throw ParseError(line_, col_, msg); }

  void skip_space() {
    for (;;) {
      char c = at();
      if (i_ < s_.size() && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
        advance();
      } else if (c == '/' && at(1) == '/') {
        while (i_ < s_.size() && at() != '\n') advance();
      } else {
        return;
      }
    }
  }

  std::string take_while(bool (*pred)(char)) {
    size_t start = i_;
    while (i_ < s_.size() && pred(at())) advance();
    return std::string(s_.substr(start, i_ - start));
  }

  void lex_one(Token& t) {
    char c = at();
    if (is_alpha(c)) {
      t.kind = Tok::Ident;
      t.text = take_while([](char ch) { return is_alpha(ch) || is_digit(ch); });
    } else if (c == '%' || c == '@') {
      advance();
      t.kind = c == '%' ? Tok::Value : Tok::Global;
      t.text = take_while(is_name_char);
      if (t.text.empty())
        error(std::string("expected a name after '") + c + "', got " +
              (i_ < s_.size() ? show_char(at()) : "end of input"));
    } else if (is_digit(c) || (c == '-' && is_digit(at(1)))) {
      lex_number(t);
    } else if (c == '-' && at(1) == '>') {
      advance(2);
      t.kind = Tok::Arrow;
      t.text = "->";
    } else if (c == '-' && is_alpha(at(1))) {
      advance();
      std::string word = take_while([](char ch) { return is_alpha(ch) || is_digit(ch); });
      if (word != "inf" && word != "nan")
        throw ParseError(t.line, t.col, "unexpected '-' before '" + word + "'");
      t.kind = Tok::Float;
      t.text = "-" + word;
    } else if (c == '"') {
      lex_string(t);
    } else if (std::strchr("()[]{}<>,:=", c) && c != '\0') {
      advance();
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
    } else {
      error("unexpected character " + show_char(c));
    }
  }

  void lex_number(Token& t) {
    size_t start = i_;
    if (at() == '0' && (at(1) == 'x' || at(1) == 'X')) {
      advance(2);
      std::string digits = take_while(is_hex);
      if (digits.empty() || digits.size() > 16)
        throw ParseError(t.line, t.col, "a hex bit pattern needs 1 to 16 hex digits");
      t.kind = Tok::Hex;
      t.text = digits;
    } else {
      bool is_float = false;
      if (at() == '-') advance();
      take_while(is_digit);
      if (at() == '.') {
        is_float = true;
        advance();
        take_while(is_digit);
      }
      if (at() == 'e' || at() == 'E') {
        is_float = true;
        advance();
        if (at() == '+' || at() == '-') advance();
        if (take_while(is_digit).empty())
          throw ParseError(t.line, t.col, "malformed number: no digits after the exponent");
      }
      t.kind = is_float ? Tok::Float : Tok::Int;
      t.text = std::string(s_.substr(start, i_ - start));
    }
    if (is_name_char(at()))
      throw ParseError(
          t.line, t.col,
          "malformed number '" + std::string(s_.substr(start, i_ - start)) + at() + "'");
  }

  void lex_string(Token& t) {
    advance();  // opening quote
    t.kind = Tok::String;
    for (;;) {
      if (i_ >= s_.size() || at() == '\n') throw ParseError(t.line, t.col, "unterminated string");
      char c = at();
      advance();
      if (c == '"') return;
      if (c != '\\') {
        t.text += c;
        continue;
      }
      char e = at();
      advance();
      switch (e) {
        case '"': t.text += '"'; break;
        case '\\': t.text += '\\'; break;
        case 'n': t.text += '\n'; break;
        case 't': t.text += '\t'; break;
        case 'x': {
          if (!is_hex(at()) || !is_hex(at(1))) error("\\x in a string needs two hex digits");
          t.text += static_cast<char>(std::stoi(std::string(s_.substr(i_, 2)), nullptr, 16));
          advance(2);
          break;
        }
        default: error("unknown escape in a string: \\" + std::string(1, e));
      }
    }
  }
};

// ---- literals -----------------------------------------------------------------------

// One element of a constant (or a nested list of them), kept as tokens until the type
// after ':' says how to read them.
struct Literal {
  bool is_list = false;
  bool is_complex = false;
  size_t at = 0;  // token where the element starts: '[', '(' or the scalar
  size_t re = 0;  // the scalar, or the real part of (re, im)
  size_t im = 0;  // the imaginary part
  std::vector<Literal> items;
};

int64_t count_leaves(const Literal& lit) {
  if (!lit.is_list) return 1;
  int64_t n = 0;
  for (const Literal& item : lit.items) n += count_leaves(item);
  return n;
}

void collect_leaves(const Literal& lit, std::vector<const Literal*>& out) {
  if (!lit.is_list) {
    out.push_back(&lit);
    return;
  }
  for (const Literal& item : lit.items) collect_leaves(item, out);
}

// Constants in the text are capped so a typo in a splat's type cannot ask for terabytes.
// Fuzz builds (fuzz/) use a lower cap: a fuzzer soon finds the splat syntax, and filling
// gigabytes per input would leave it no time to parse.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
constexpr int64_t kMaxConstantBytes = int64_t{1} << 24;
constexpr std::string_view kMaxConstantText = "16 MiB";
#else
constexpr int64_t kMaxConstantBytes = int64_t{1} << 31;
constexpr std::string_view kMaxConstantText = "2 GiB";
#endif

// ---- parser -------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Graph parse_function();
  Type parse_type_only() {
    Type t = parse_type();
    if (peek().kind != Tok::End) error_at(peek(), "unexpected text after the type");
    return t;
  }

 private:
  struct Def {
    NodePtr node;
    int line, col;
  };
  std::vector<Token> toks_;
  size_t pos_ = 0;
  std::unordered_map<std::string, Def> values_;

  const Token& peek() const { return toks_[pos_]; }
  Token take() {
    Token t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool at_punct(char c) const { return peek().kind == Tok::Punct && peek().text[0] == c; }
  bool at_ident(std::string_view word) const {
    return peek().kind == Tok::Ident && peek().text == word;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End: return "end of input";
      case Tok::String: return "a string";
      case Tok::Value: return "'%" + t.text + "'";
      case Tok::Global: return "'@" + t.text + "'";
      case Tok::Hex: return "'0x" + t.text + "'";
      default: return "'" + t.text + "'";
    }
  }
  [[noreturn]] static void error_at(const Token& t, const std::string& msg) {
    throw ParseError(t.line, t.col, msg);
  }
  // Reports "<msg>, got <token>" at the current token.
  [[noreturn]] void expected(const std::string& msg) const {
    error_at(peek(), msg + ", got " + describe(peek()));
  }
  void expect_punct(char c, const std::string& msg) {
    if (!at_punct(c)) expected(msg);
    take();
  }

  int64_t to_i64(const Token& t) const;
  uint64_t float_bits(const Token& t, DType dtype) const;
  Type parse_type();
  NodePtr use_value();
  void define(const Token& name, NodePtr node);
  void parse_statement(Graph& graph);
  std::vector<AttrValue> parse_attrs(OpKind op, const Token& op_token);
  AttrValue parse_attr_value(const AttrSpec& spec);
  Literal parse_literal(int depth);
  Literal parse_scalar();
  BufferPtr make_buffer(const Literal& lit, const Type& type) const;
  void check_nesting(const Literal& lit, const Type& type, size_t depth) const;
  void store(const Literal& leaf, DType dtype, std::byte* dst) const;
};

int64_t Parser::to_i64(const Token& t) const {
  if (t.kind != Tok::Int) error_at(t, "expected an integer, got " + describe(t));
  int64_t v = 0;
  auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
  if (r.ec != std::errc() || r.ptr != t.text.data() + t.text.size())
    error_at(t, "integer " + t.text + " is too large for i64");
  return v;
}

// The bit pattern of a float literal in `dtype` (f16, bf16, f32 or f64).
uint64_t Parser::float_bits(const Token& t, DType dtype) const {
  std::string name(dtype_name(dtype));
  size_t size = dtype_size(dtype);
  if (t.kind == Tok::Hex) {
    uint64_t bits = std::stoull(t.text, nullptr, 16);
    if (size < 8 && (bits >> (8 * size)) != 0)
      error_at(t, "bit pattern 0x" + t.text + " does not fit " + name);
    return bits;
  }
  bool special = (t.kind == Tok::Ident && (t.text == "inf" || t.text == "nan")) ||
                 (t.kind == Tok::Float && (t.text == "-inf" || t.text == "-nan"));
  if (!special && t.kind != Tok::Int && t.kind != Tok::Float)
    error_at(t, "expected a number in " + name + ", got " + describe(t));
  bool negative = t.text[0] == '-';
  if (special && t.text.ends_with("nan")) {
    // The default quiet NaN of each format, as the printer spells "nan".
    uint64_t quiet = dtype == DType::F64   ? 0x7ff8000000000000ull
                     : dtype == DType::F32 ? 0x7fc00000u
                     : dtype == DType::F16 ? 0x7e00u
                                           : 0x7fc0u;
    return quiet | (negative ? uint64_t{1} << (8 * size - 1) : 0);
  }
  if (dtype == DType::F64) {
    double v = special ? (negative ? -1 : 1) * std::numeric_limits<double>::infinity() : 0;
    if (!special) {
      auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
      if (r.ec != std::errc()) error_at(t, "value " + t.text + " is out of range for f64");
    }
    return std::bit_cast<uint64_t>(v);
  }
  float v = special ? (negative ? -1 : 1) * std::numeric_limits<float>::infinity() : 0;
  if (!special) {
    auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (r.ec != std::errc()) error_at(t, "value " + t.text + " is out of range for " + name);
  }
  if (dtype == DType::F32) return std::bit_cast<uint32_t>(v);
  // 16-bit floats are read through float, as the printer checks its output.
  uint16_t bits = dtype == DType::F16 ? float_to_f16(v) : float_to_bf16(v);
  float back = dtype == DType::F16 ? f16_to_float(bits) : bf16_to_float(bits);
  if (!special && std::isinf(back)) error_at(t, "value " + t.text + " is out of range for " + name);
  return bits;
}

Type Parser::parse_type() {
  Token t = take();
  if (t.kind != Tok::Ident) error_at(t, "expected a type such as f32[2,3], got " + describe(t));
  auto dtype = dtype_from_name(t.text);
  if (!dtype) {
    std::string names;
    for (DType d : kAllDTypes) names += (names.empty() ? "" : ", ") + std::string(dtype_name(d));
    error_at(t, "unknown dtype '" + t.text + "' (expected one of " + names + ")");
  }
  expect_punct('[',
               "expected '[' after dtype '" + t.text + "' (rank 0 is written " + t.text + "[])");
  Shape shape;
  if (!at_punct(']')) {
    for (;;) {
      Token d = take();
      if (d.kind != Tok::Int) error_at(d, "expected a dimension size, got " + describe(d));
      int64_t v = to_i64(d);
      if (v < 0) error_at(d, "negative dimension " + d.text + " in type");
      if (static_cast<int>(shape.size()) == kMaxRank)
        error_at(
            d, "type has more than " + std::to_string(kMaxRank) + " dimensions (the maximum rank)");
      shape.push_back(v);
      if (!at_punct(',')) break;
      take();
    }
  }
  expect_punct(']', "expected ',' or ']' in type");
  Type type{*dtype, shape};
  try {
    verify_type(type, "type");
  } catch (const VerifyError& e) {
    error_at(t, e.what());
  }
  return type;
}

NodePtr Parser::use_value() {
  Token t = take();
  if (t.kind != Tok::Value) error_at(t, "expected a value such as %0, got " + describe(t));
  auto it = values_.find(t.text);
  if (it == values_.end()) error_at(t, "use of undefined value %" + t.text);
  return it->second.node;
}

void Parser::define(const Token& name, NodePtr node) {
  values_.emplace(name.text, Def{std::move(node), name.line, name.col});
}

Graph Parser::parse_function() {
  Graph graph;
  if (!at_ident("func")) expected("expected 'func' at the start of the graph");
  take();
  if (peek().kind != Tok::Global) expected("expected the function name '@name' after 'func'");
  graph.name = take().text;
  expect_punct('(', "expected '(' after the function name");
  if (!at_punct(')')) {
    for (;;) {
      Token v = take();
      if (v.kind != Tok::Value) error_at(v, "expected a parameter '%name', got " + describe(v));
      if (values_.contains(v.text)) error_at(v, "parameter %" + v.text + " is declared twice");
      expect_punct(':', "expected ':' after parameter %" + v.text);
      NodePtr p = make_node(OpKind::Parameter, {}, {}, parse_type());
      if (is_alpha(v.text[0])) p->name = v.text;  // else the printer numbers it
      define(v, p);
      graph.params.push_back(p);
      if (!at_punct(',')) break;
      take();
    }
  }
  expect_punct(')', "expected ',' or ')' after a parameter");
  if (peek().kind != Tok::Arrow) expected("expected '->' and the result types");
  take();
  expect_punct('(', "expected '(' before the result types");
  std::vector<Type> result_types;
  if (!at_punct(')')) {
    for (;;) {
      result_types.push_back(parse_type());
      if (!at_punct(',')) break;
      take();
    }
  }
  expect_punct(')', "expected ',' or ')' after a result type");
  expect_punct('{', "expected '{' to open the function body");
  while (!at_ident("return")) {
    if (peek().kind != Tok::Value) expected("expected a statement '%name = op ...' or 'return'");
    parse_statement(graph);
  }
  Token ret = take();
  std::vector<Token> result_tokens;
  if (peek().kind == Tok::Value) {
    for (;;) {
      result_tokens.push_back(peek());
      graph.results.push_back(use_value());
      if (!at_punct(',')) break;
      take();
    }
  }
  expect_punct('}', "expected ',' or '}' after the returned values");
  if (peek().kind != Tok::End) expected("expected the end of input after the function");

  if (result_types.size() != graph.results.size())
    error_at(ret, "the signature declares " + std::to_string(result_types.size()) +
                      " result(s) but 'return' gives " + std::to_string(graph.results.size()));
  for (size_t i = 0; i < result_types.size(); ++i)
    if (graph.results[i]->type != result_types[i])
      error_at(result_tokens[i], "returned value %" + result_tokens[i].text + " has type " +
                                     graph.results[i]->type.str() + " but the signature declares " +
                                     result_types[i].str());
  try {
    verify(graph);  // the statements were checked one by one; this is a safety net
  } catch (const VerifyError& e) {
    error_at(ret, e.what());
  }
  return graph;
}

void Parser::parse_statement(Graph& graph) {
  Token name = take();
  if (auto it = values_.find(name.text); it != values_.end())
    error_at(name, "value %" + name.text + " is already defined at " +
                       std::to_string(it->second.line) + ":" + std::to_string(it->second.col));
  expect_punct('=', "expected '=' after %" + name.text);
  Token op_token = take();
  if (op_token.kind != Tok::Ident)
    error_at(op_token, "expected an op name after '=', got " + describe(op_token));
  auto op = op_from_text(op_token.text);
  if (!op) error_at(op_token, "unknown op '" + op_token.text + "'");
  if (*op == OpKind::Parameter)
    error_at(op_token,
             "'parameter' cannot appear in the body; declare parameters in the "
             "function signature");

  std::optional<Literal> literal;
  std::vector<NodePtr> operands;
  if (*op == OpKind::Constant) {
    if (!at_ident("dense")) expected("expected 'dense<...>' after 'constant'");
    take();
    expect_punct('<', "expected '<' after 'dense'");
    literal = parse_literal(0);
    expect_punct('>', "expected '>' to close the constant literal");
  } else if (peek().kind == Tok::Value) {
    for (;;) {
      operands.push_back(use_value());
      if (!at_punct(',')) break;
      take();
    }
  }
  int n = static_cast<int>(operands.size());
  bool has_attrs = at_punct('{');
  std::vector<AttrValue> attrs = parse_attrs(*op, op_token);
  if (!at_punct(':'))
    expected(literal     ? "expected ':' after the constant literal"
             : has_attrs ? "expected ':' after the attributes"
             : n > 0     ? "expected ':' after operands"
                         : "expected ':' and the result type after the op name");
  take();
  const OpInfo& info = op_info(*op);
  if (!arity_admits(info.arity, static_cast<size_t>(n)))
    error_at(op_token, "op '" + op_token.text + "' expects " + arity_text(info.arity) + ", got " +
                           std::to_string(n));
  Type type = parse_type();

  NodePtr node = literal ? make_constant(make_buffer(*literal, type))
                         : make_node(*op, std::move(operands), std::move(attrs), type);
  try {
    verify_node(*node);
  } catch (const VerifyError& e) {
    error_at(name, e.what());
  }
  define(name, node);
  graph.nodes.push_back(std::move(node));
}

std::vector<AttrValue> Parser::parse_attrs(OpKind op, const Token& op_token) {
  const auto& specs = op_info(op).attrs;
  std::vector<std::optional<AttrValue>> values(specs.size());
  if (at_punct('{')) {
    take();
    while (!at_punct('}')) {
      Token n = take();
      if (n.kind != Tok::Ident) error_at(n, "expected an attribute name, got " + describe(n));
      size_t k = 0;
      while (k < specs.size() && specs[k].name != n.text) ++k;
      if (k == specs.size()) {
        std::string names;
        for (const AttrSpec& s : specs) names += (names.empty() ? "" : ", ") + std::string(s.name);
        error_at(n, "op '" + op_token.text + "' has no attribute '" + n.text + "'" +
                        (names.empty() ? " (it takes none)" : " (it takes " + names + ")"));
      }
      if (values[k]) error_at(n, "attribute '" + n.text + "' is given twice");
      expect_punct('=', "expected '=' after attribute name '" + n.text + "'");
      values[k] = parse_attr_value(specs[k]);
      if (!at_punct(',')) break;
      take();
    }
    expect_punct('}', "expected ',' or '}' in the attribute list");
  }
  std::vector<AttrValue> out;
  for (size_t k = 0; k < specs.size(); ++k) {
    if (!values[k])
      error_at(op_token, "op '" + op_token.text + "' requires attribute '" +
                             std::string(specs[k].name) + "'");
    out.push_back(std::move(*values[k]));
  }
  return out;
}

AttrValue Parser::parse_attr_value(const AttrSpec& spec) {
  std::string what = "attribute '" + std::string(spec.name) + "' expects ";
  Token t = peek();
  switch (spec.kind) {
    case AttrKind::I64:
      if (t.kind != Tok::Int) error_at(t, what + "an integer, got " + describe(t));
      return to_i64(take());
    case AttrKind::F64: {
      bool number = t.kind == Tok::Int || t.kind == Tok::Float || t.kind == Tok::Hex ||
                    (t.kind == Tok::Ident && (t.text == "inf" || t.text == "nan"));
      if (!number) error_at(t, what + "a number, got " + describe(t));
      return std::bit_cast<double>(float_bits(take(), DType::F64));
    }
    case AttrKind::Bool:
      if (t.kind != Tok::Ident || (t.text != "true" && t.text != "false"))
        error_at(t, what + "true or false, got " + describe(t));
      take();
      return t.text == "true";
    case AttrKind::I64s: {
      std::vector<int64_t> list;
      if (!at_punct('[')) error_at(t, what + "a list of integers, got " + describe(t));
      take();
      while (!at_punct(']')) {
        if (peek().kind != Tok::Int) expected(what + "a list of integers");
        list.push_back(to_i64(take()));
        if (!at_punct(',')) break;
        take();
      }
      if (!at_punct(']')) expected(what + "a list of integers; expected ',' or ']'");
      take();
      return list;
    }
    case AttrKind::Str:
      if (t.kind != Tok::String) error_at(t, what + "a quoted string, got " + describe(t));
      return take().text;
  }
  error_at(t, "unknown attribute kind");
}

Literal Parser::parse_scalar() {
  Literal lit;
  const Token& t = peek();
  bool ok = t.kind == Tok::Int || t.kind == Tok::Float || t.kind == Tok::Hex ||
            (t.kind == Tok::Ident &&
             (t.text == "true" || t.text == "false" || t.text == "inf" || t.text == "nan"));
  if (!ok) expected("expected a constant value (number, true, false, inf, nan or 0x bits)");
  lit.at = lit.re = pos_;
  take();
  return lit;
}

Literal Parser::parse_literal(int depth) {
  if (at_punct('[')) {
    Literal lit;
    lit.is_list = true;
    lit.at = pos_;
    if (depth == kMaxRank)
      error_at(peek(), "constant literal is nested deeper than the maximum rank " +
                           std::to_string(kMaxRank));
    take();
    while (!at_punct(']')) {
      lit.items.push_back(parse_literal(depth + 1));
      if (!at_punct(',')) break;
      take();
    }
    expect_punct(']', "expected ',' or ']' in the constant literal");
    return lit;
  }
  if (at_punct('(')) {
    size_t open = pos_;
    take();
    Literal lit = parse_scalar();
    expect_punct(',', "expected ',' between the real and imaginary parts");
    lit.im = parse_scalar().re;
    expect_punct(')', "expected ')' after the imaginary part");
    lit.is_complex = true;
    lit.at = open;
    return lit;
  }
  return parse_scalar();
}

void Parser::check_nesting(const Literal& lit, const Type& type, size_t depth) const {
  if (depth == type.shape.size()) {
    if (lit.is_list)
      error_at(toks_[lit.at], "constant literal does not match " + type.str() +
                                  ": expected a single value here, not a list");
    return;
  }
  int64_t n = type.shape[depth];
  if (!lit.is_list || static_cast<int64_t>(lit.items.size()) != n)
    error_at(toks_[lit.at], "constant literal does not match " + type.str() +
                                ": expected a list of " + std::to_string(n) +
                                " element(s) at depth " + std::to_string(depth));
  for (const Literal& item : lit.items) check_nesting(item, type, depth + 1);
}

void Parser::store(const Literal& leaf, DType dtype, std::byte* dst) const {
  const Token& t = toks_[leaf.re];
  std::string name(dtype_name(dtype));
  if (leaf.is_complex != (dtype == DType::C64))
    error_at(toks_[leaf.at], dtype == DType::C64
                                 ? "expected (re, im) in a c64 constant"
                                 : "a complex value (re, im) cannot be stored in " + name);
  auto put = [dst]<class T>(T v, size_t offset = 0) { std::memcpy(dst + offset, &v, sizeof v); };
  switch (dtype) {
    case DType::Bool:
      if (t.kind != Tok::Ident || (t.text != "true" && t.text != "false"))
        error_at(t, "expected true or false in a bool constant, got " + describe(t));
      put(static_cast<uint8_t>(t.text == "true"));
      return;
    case DType::I8:
    case DType::U8:
    case DType::I32:
    case DType::I64: {
      if (t.kind != Tok::Int)
        error_at(t, "expected an integer in an " + name + " constant, got " + describe(t));
      int64_t v = to_i64(t);
      int64_t lo = dtype == DType::I8    ? -128
                   : dtype == DType::U8  ? 0
                   : dtype == DType::I32 ? std::numeric_limits<int32_t>::min()
                                         : std::numeric_limits<int64_t>::min();
      int64_t hi = dtype == DType::I8    ? 127
                   : dtype == DType::U8  ? 255
                   : dtype == DType::I32 ? std::numeric_limits<int32_t>::max()
                                         : std::numeric_limits<int64_t>::max();
      if (v < lo || v > hi) error_at(t, "value " + t.text + " is out of range for " + name);
      if (dtype == DType::I8) put(static_cast<int8_t>(v));
      if (dtype == DType::U8) put(static_cast<uint8_t>(v));
      if (dtype == DType::I32) put(static_cast<int32_t>(v));
      if (dtype == DType::I64) put(v);
      return;
    }
    case DType::F16:
    case DType::BF16: put(static_cast<uint16_t>(float_bits(t, dtype))); return;
    case DType::F32: put(static_cast<uint32_t>(float_bits(t, dtype))); return;
    case DType::F64: put(float_bits(t, dtype)); return;
    case DType::C64:
      put(static_cast<uint32_t>(float_bits(t, DType::F32)));
      put(static_cast<uint32_t>(float_bits(toks_[leaf.im], DType::F32)), 4);
      return;
  }
}

BufferPtr Parser::make_buffer(const Literal& lit, const Type& type) const {
  int64_t numel = type.numel();
  int64_t count = count_leaves(lit);
  bool splat = !lit.is_list && numel != 1;
  if (!splat && count != numel)
    error_at(toks_[lit.at], "constant has " + std::to_string(count) + " values but type " +
                                type.str() + " needs " + std::to_string(numel));
  if (!(numel == 0 && lit.is_list && lit.items.empty()) && !splat) check_nesting(lit, type, 0);
  if (static_cast<int64_t>(type.nbytes()) > kMaxConstantBytes)
    error_at(toks_[lit.at], "constant of type " + type.str() +
                                " is too large for the text form (at most " +
                                std::string(kMaxConstantText) + ")");
  BufferPtr buffer;
  try {
    buffer = std::make_shared<Buffer>(type);
  } catch (const Error& e) {
    error_at(toks_[lit.at], e.what());
  }
  size_t size = dtype_size(type.dtype);
  if (splat) {
    // A buffer holds at least 64 bytes, so even a zero-size splat's value is checked.
    store(lit, type.dtype, buffer->data());
    for (int64_t i = 1; i < numel; ++i)
      std::memcpy(buffer->data() + i * size, buffer->data(), size);
    return buffer;
  }
  std::vector<const Literal*> leaves;
  collect_leaves(lit, leaves);
  for (size_t i = 0; i < leaves.size(); ++i)
    store(*leaves[i], type.dtype, buffer->data() + i * size);
  return buffer;
}

}  // namespace

Graph parse_graph(std::string_view text) { return Parser(Lexer(text).run()).parse_function(); }

Type parse_type(std::string_view text) { return Parser(Lexer(text).run()).parse_type_only(); }

}  // namespace kiln::ir
