// Evaluation and host syncs: sync counting with call sites, strict mode, history dropped
// after eval, shared work, graph extraction, devices, printing and source locations.
#include <sstream>

#include "frontend/evaluate.h"
#include "ir/hash.h"
#include "ir/verifier.h"
#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;

// The sync site recorded at `line` of this file, or nullptr.
const SyncSite* site_at(const Stats& s, int line) {
  for (const SyncSite& site : s.sync_sites)
    if (site.line == line && site.file.find("eval_test.cpp") != std::string::npos) return &site;
  return nullptr;
}
// The result points into `s`: a temporary Stats would be freed before it is read.
const SyncSite* site_at(const Stats&& s, int line) = delete;

// Runs graphs on the reference evaluator and counts them.
class CountingDevice : public runtime::Device {
 public:
  std::string name() const override { return "counting"; }
  std::vector<BufferPtr> run(const ir::Graph& graph,
                             const std::vector<BufferPtr>& inputs) override {
    ++runs;
    last_params = graph.params.size();
    return reference.run(graph, inputs);
  }
  int runs = 0;
  size_t last_params = 0;
  runtime::ReferenceDevice reference;
};

TEST(Sync, EachSyncIsCountedWithItsCallSite) {
  Tensor x = from_data({1.f, 2.f}, {2});
  reset_stats();
  int item_line = __LINE__ + 1;
  float v = sum(x).item<float>();
  int vec_line = __LINE__ + 1;
  auto values = (x * 2.0).to_vector<float>();
  Tensor y = x + 1;
  int eval_line = __LINE__ + 1;
  eval(y);
  std::ostringstream os;
  int print_line = __LINE__ + 1;
  os << x;
  int string_line = __LINE__ + 1;
  std::string text = to_string(y);
  EXPECT_EQ(v, 3.f);
  EXPECT_EQ(values, (std::vector<float>{2, 4}));

  Stats s = stats();
  EXPECT_EQ(s.host_syncs, 5);
  struct Want {
    int line;
    const char* what;
  };
  for (Want w : {Want{item_line, "item"}, Want{vec_line, "to_vector"}, Want{eval_line, "eval"},
                 Want{print_line, "print"}, Want{string_line, "print"}}) {
    const SyncSite* site = site_at(s, w.line);
    ASSERT_NE(site, nullptr) << "no sync recorded at line " << w.line << "\n" << s.str();
    EXPECT_EQ(site->what, w.what);
    EXPECT_EQ(site->count, 1);
  }
}

TEST(Sync, RepeatedSyncsAtOneSiteAccumulate) {
  Tensor x = from_data({1.f}, {1});
  reset_stats();
  int line = 0;
  for (int i = 0; i < 3; ++i) {
    line = __LINE__ + 1;
    (void)x.item<float>();
  }
  Stats s = stats();
  const SyncSite* site = site_at(s, line);
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->count, 3);
}

TEST(Sync, VariadicAndVectorEvalRecordTheCaller) {
  Tensor a = from_data({1.f}, {1}) + 1;
  Tensor b = a * 3;
  reset_stats();
  int line = __LINE__ + 1;
  eval(a, b);
  int line2 = __LINE__ + 1;
  eval(std::vector<Tensor>{a});
  Stats s = stats();
  ASSERT_NE(site_at(s, line), nullptr);
  ASSERT_NE(site_at(s, line2), nullptr);
  EXPECT_EQ(s.host_syncs, 2);
}

TEST(Sync, StrictModeRefusesAndNamesTheSite) {
  Tensor x = from_data({1.f, 2.f}, {2}) + 1;
  {
    StrictSyncGuard strict;
    int line = __LINE__ + 1;
    auto read = [&] { (void)x.to_vector<float>(); };
    expect_error<SyncError>(read, {"eval_test.cpp:" + std::to_string(line)});
    expect_error<SyncError>([&] { eval(x); }, {"eval_test.cpp"});
    expect_error<SyncError>(
        [&] {
          std::ostringstream os;
          os << x;
        },
        {"eval_test.cpp"});
    // A refused sync computes nothing.
    EXPECT_FALSE(x.is_evaluated());
    {
      AllowSyncGuard allow;
      EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{2, 3}));
    }
  }
  EXPECT_TRUE(x.is_evaluated());
}

TEST(Eval, HistoryIsDroppedAfterEval) {
  Tensor x = from_data({1.f, 2.f, 3.f}, {3});
  Tensor y = (x + 1) * 2;
  ASSERT_EQ(y.node()->op, ir::OpKind::Mul);
  std::weak_ptr<ir::Node> mid = y.node()->operands[0];
  ASSERT_FALSE(mid.expired());
  eval(y);
  EXPECT_TRUE(y.is_evaluated());
  EXPECT_EQ(y.node()->op, ir::OpKind::Constant);
  EXPECT_TRUE(y.node()->operands.empty());
  EXPECT_TRUE(y.node()->attrs.empty());
  ASSERT_NE(y.node()->buffer, nullptr);
  EXPECT_EQ(y.node()->buffer->type(), y.type());
  EXPECT_TRUE(mid.expired()) << "the intermediate add should be freed";
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{4, 6, 8}));
  // x is still alive (held here) and unchanged.
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST(Eval, ItemAndToVectorAlsoMaterialize) {
  Tensor y = sum(from_data({1.f, 2.f}, {2}) * 3);
  EXPECT_EQ(y.item<float>(), 9.f);
  EXPECT_TRUE(y.node()->operands.empty());
}

TEST(Eval, SeveralTensorsShareOneGraph) {
  Tensor x = from_data({1.f, 2.f}, {2});
  Tensor common = exp(x);
  Tensor a = common + 1;
  Tensor b = common * 2;
  ir::Graph g = graph_of(a, b);
  EXPECT_EQ(g.results.size(), 2u);
  int exps = 0;
  for (const auto& n : g.nodes) exps += n->op == ir::OpKind::Exp;
  EXPECT_EQ(exps, 1) << "the shared exp appears once";
  reset_stats();
  eval(a, b);
  EXPECT_EQ(stats().graphs_run, 1);
  expect_f32(a, {2}, {std::exp(1.0) + 1, std::exp(2.0) + 1});
  expect_f32(b, {2}, {2 * std::exp(1.0), 2 * std::exp(2.0)});
  // Nothing left to compute: no graph runs, but the call is still a counted sync.
  reset_stats();
  eval(a, b, a);
  EXPECT_EQ(stats().graphs_run, 0);
  EXPECT_EQ(stats().host_syncs, 1);
  eval(std::vector<Tensor>{});
}

TEST(Eval, ValuesBecomeParametersOrInlineConstants) {
  Tensor big = from_data(std::vector<float>(100, 1.f), {100});
  Tensor small = from_data({1.f, 2.f}, {2});
  ir::Graph g = graph_of(big + 1, small + 1);
  ASSERT_EQ(g.params.size(), 1u);
  EXPECT_EQ(g.params[0]->type.str(), "f32[100]");
  EXPECT_FALSE(g.params[0]->name.empty());
  int constants = 0;
  for (const auto& n : g.nodes) constants += n->op == ir::OpKind::Constant;
  EXPECT_EQ(constants, 3);  // `small`, and the rank-0 scalar 1 of each add
  // An evaluated result of 17+ elements becomes a parameter; up to 16 stays inline.
  Tensor r17 = arange(17, DType::F32);
  Tensor r16 = arange(16, DType::F32);
  eval(r17, r16);
  ir::Graph h = graph_of(r17 * 2, r16 * 2);
  ASSERT_EQ(h.params.size(), 1u);
  EXPECT_EQ(h.params[0]->type.str(), "f32[17]");
  // The graph holds copies: user nodes are never part of it.
  ir::Graph k = graph_of(small + 1);
  EXPECT_NE(k.nodes[0].get(), small.node().get());
  EXPECT_NO_THROW(ir::verify(g));
  EXPECT_NO_THROW(ir::verify(h));
}

// eval looks its plan up by a hash of the live history (frontend::plan_key), which must be
// the hash of the graph it would extract: the same parameters in order, inline constants
// with their data, shared values once, roots given twice once.
TEST(Eval, ThePlanKeyIsTheHashOfTheExtractedGraph) {
  auto same = [](const std::vector<Tensor>& roots) {
    std::vector<ir::NodePtr> nodes;
    for (const Tensor& t : roots) nodes.push_back(t.node());
    return frontend::plan_key(nodes) ==
           ir::structural_hash(frontend::extract_graph(nodes, false).graph);
  };
  Tensor big = from_data(std::vector<float>(100, 1.f), {100});
  Tensor small = from_data({1.f, 2.f}, {2});
  Tensor h = exp(big) * 2.0 + 1.0;
  Tensor y = h * h + sum(small) + big;
  EXPECT_TRUE(same({y}));
  EXPECT_TRUE(same({y, h, y, big}));
  EXPECT_TRUE(same({small * 3.0}));
  Key key(5);
  Tensor w = normal(key, {100, 4});
  EXPECT_TRUE(same({relu(matmul(reshape(h, {1, 100}), w) + 0.5)}));
  // Another scalar is another key; so is a shared value once it holds its value (it is an
  // input then).
  EXPECT_NE(frontend::plan_key({(small * 3.0).node()}), frontend::plan_key({(small * 4.0).node()}));
  const uint64_t before = frontend::plan_key({y.node()});
  eval(h);
  EXPECT_TRUE(same({y}));
  EXPECT_NE(frontend::plan_key({y.node()}), before);
}

// A repeated eval runs the cached plan on the new values, and a scalar that differs gets a
// plan of its own: the key sees the data of inline constants.
TEST(Eval, RepeatedEvalsReuseThePlanWithTheirOwnValues) {
  auto step = [](const Tensor& x, double s) {
    Tensor h = x * s + 1.0;
    return h * h + h;
  };
  auto expected = [](const std::vector<float>& x, double s) {
    std::vector<double> out;
    for (float v : x) {
      const double h = v * s + 1.0;
      out.push_back(h * h + h);
    }
    return out;
  };
  std::vector<float> a(40), b(40);
  for (int i = 0; i < 40; ++i) {
    a[static_cast<size_t>(i)] = 0.25f * static_cast<float>(i);
    b[static_cast<size_t>(i)] = -0.5f * static_cast<float>(i);
  }
  Tensor first = step(from_data(a, {40}), 2.0);
  eval(first);
  expect_f32(first, {40}, expected(a, 2.0));
  reset_stats();
  Tensor again = step(from_data(b, {40}), 2.0);
  eval(again);
  EXPECT_EQ(stats().plans_reused, current_device()->interprets() ? 0 : 1);
  expect_f32(again, {40}, expected(b, 2.0));
  reset_stats();
  Tensor other = step(from_data(b, {40}), 3.0);
  eval(other);
  EXPECT_EQ(stats().plans_reused, 0);
  expect_f32(other, {40}, expected(b, 3.0));
}

// A scalar written at one call site in a loop (relu's zero in every layer) is one constant
// node, reused; another value, or another site, is a constant of its own.
TEST(Eval, AScalarAtOneCallSiteIsOneConstant) {
  Tensor x = from_data({1.f, -2.f}, {2});
  auto constants = [](const ir::Graph& g) {
    int n = 0;
    for (const auto& node : g.nodes) n += node->op == ir::OpKind::Constant;
    return n;
  };
  std::vector<Tensor> ys;
  for (int i = 0; i < 3; ++i) ys.push_back(relu(x) * 2.0);
  EXPECT_EQ(constants(graph_of(ys)), 3);  // x, the zero, the two
  std::vector<Tensor> scaled;
  for (int i = 0; i < 3; ++i) scaled.push_back(x * static_cast<double>(i));
  EXPECT_EQ(constants(graph_of(scaled)), 4);
  Tensor a = x * 2.0, b = x * 2.0;
  EXPECT_EQ(constants(graph_of(a, b)), 3);
  eval(ys);
  for (const Tensor& y : ys) expect_f32(y, {2}, {2.0, 0.0});
  eval(scaled);
  expect_f32(scaled[2], {2}, {2.0, -4.0});
}

TEST(Eval, ExtractedGraphsVerify) {
  Key key(3);
  Tensor x = uniform(key, {4, 8});
  Tensor w = normal(split(key)[0], {8, 3});
  Tensor h = softmax(gelu(matmul(x, w) + 0.5));
  Tensor loss = mean(log_softmax(h), 0);
  Tensor t = take(concatenate({h, flip(h, 0)}, 1), from_data({0, 5}, {2}), 1);
  ir::Graph g = graph_of(loss, t, argmax(h, 1), cumsum(pad(h, {{1, 0}, {0, 2}}), 0));
  EXPECT_NO_THROW(ir::verify(g));
  EXPECT_EQ(g.results.size(), 4u);
  eval(loss, t);
  EXPECT_EQ(loss.shape(), Shape{3});
}

TEST(Eval, PrintIR) {
  Tensor x = from_data(std::vector<float>(32, 0.5f), {4, 8});
  std::string text = print_ir(x * 2.0 + 1.0);
  EXPECT_THAT(text, ::testing::HasSubstr("func @main("));
  EXPECT_THAT(text, ::testing::HasSubstr("f32[4,8]"));
  EXPECT_THAT(text, ::testing::HasSubstr("mul"));
  EXPECT_THAT(text, ::testing::HasSubstr("add"));
  EXPECT_THAT(text, ::testing::HasSubstr("broadcast"));
  EXPECT_THAT(text, ::testing::HasSubstr("return"));
  EXPECT_EQ(print_ir(x), print_ir(std::vector<Tensor>{x}));
}

TEST(Eval, DeepHistories) {
  // A long chain is extracted, evaluated and freed without recursion.
  Tensor x = from_data({0.f}, {1});
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y + 1;
  eval(y);
  EXPECT_EQ(y.item<float>(), 10000.f);
  EXPECT_TRUE(y.node()->operands.empty());
  // A long chain dropped without evaluation is freed without recursion too (deep enough
  // to overflow the stack through nested node destructors).
  {
    Tensor z = x;
    for (int i = 0; i < 100000; ++i) z = -z;
  }
  SUCCEED();
}

TEST(Devices, ExplicitDeviceAndGuard) {
  auto dev = std::make_shared<CountingDevice>();
  Tensor a = from_data({1.f}, {1}) + 1;
  eval(dev, a);
  EXPECT_EQ(dev->runs, 1);
  EXPECT_EQ(a.item<float>(), 2.f);
  {
    DeviceGuard guard(dev);
    EXPECT_EQ(current_device(), dev);
    Tensor b = a * 5;
    EXPECT_EQ(b.item<float>(), 10.f);
    EXPECT_EQ(dev->runs, 2);
    // `a` is a small evaluated value: it is inlined, not passed in.
    EXPECT_EQ(dev->last_params, 0u);
    Tensor c = from_data(std::vector<float>(20, 1.f), {20}) * 2;
    (void)c.to_vector<float>();
    EXPECT_EQ(dev->last_params, 1u);
    std::ostringstream os;
    os << (c + 1);
    EXPECT_EQ(dev->runs, 4);
  }
  EXPECT_NE(current_device(), dev);
  Tensor d = a + 1;
  eval(d);
  EXPECT_EQ(dev->runs, 4);
  expect_error<DeviceError>([] { DeviceGuard g(nullptr); }, {"DeviceGuard", "null"});
}

TEST(Devices, ABrokenDeviceIsAnError) {
  class Broken : public runtime::Device {
   public:
    std::string name() const override { return "broken"; }
    std::vector<BufferPtr> run(const ir::Graph&, const std::vector<BufferPtr>&) override {
      return {};
    }
  };
  Tensor a = from_data({1.f}, {1}) + 1;
  expect_error<DeviceError>([&] { eval(std::make_shared<Broken>(), a); },
                            {"device broken returned 0 results for a graph of 1"});
  EXPECT_FALSE(a.is_evaluated());
}

TEST(Printing, Values) {
  EXPECT_EQ(to_string(from_data({1.f, 2.5f, -3.f}, {3})), "[  1, 2.5,  -3] : f32[3]");
  EXPECT_EQ(to_string(from_data({1, 2, 3, 40}, {2, 2})), "[[ 1,  2],\n [ 3, 40]] : i32[2,2]");
  EXPECT_EQ(to_string(full({}, 3.5)), "3.5 : f32[]");
  EXPECT_EQ(to_string(zeros({0})), "[] : f32[0]");
  EXPECT_EQ(to_string(zeros({2, 0})), "[[],\n []] : f32[2,0]");
  EXPECT_EQ(to_string(from_data(std::vector<bool>{true, false}, {2})), "[ true, false] : bool[2]");
  EXPECT_EQ(to_string(arange(8, DType::I64) * 1), "[0, 1, 2, 3, 4, 5, 6, 7] : i64[8]");
  EXPECT_EQ(to_string(reshape(arange(8), {2, 2, 2})),
            "[[[0, 1],\n  [2, 3]],\n\n [[4, 5],\n  [6, 7]]] : i32[2,2,2]");
  EXPECT_EQ(to_string(from_data({NAN, INFINITY, -INFINITY}, {3})), "[ nan,  inf, -inf] : f32[3]");
  EXPECT_EQ(to_string(from_data({complex64(1, 2), complex64(0, -0.5f)}, {2})),
            "[  1+2j, 0-0.5j] : c64[2]");
  EXPECT_EQ(to_string(from_data({uint8_t{7}, uint8_t{200}}, {2})), "[  7, 200] : u8[2]");
  EXPECT_EQ(to_string(full({2}, 1.5, DType::F16)), "[1.5, 1.5] : f16[2]");
  std::ostringstream os;
  os << from_data({1, 2}, {2});
  EXPECT_EQ(os.str(), "[1, 2] : i32[2]");
}

TEST(Printing, LongTensorsAreSummarized) {
  EXPECT_EQ(to_string(arange(2000)), "[   0,    1,    2, ..., 1997, 1998, 1999] : i32[2000]");
  EXPECT_EQ(to_string(reshape(arange(1200), {100, 12})),
            "[[   0,    1,    2, ...,    9,   10,   11],\n"
            " [  12,   13,   14, ...,   21,   22,   23],\n"
            " [  24,   25,   26, ...,   33,   34,   35],\n"
            " ...,\n"
            " [1164, 1165, 1166, ..., 1173, 1174, 1175],\n"
            " [1176, 1177, 1178, ..., 1185, 1186, 1187],\n"
            " [1188, 1189, 1190, ..., 1197, 1198, 1199]] : i32[100,12]");
}

TEST(Locations, NodesRecordTheirCallSite) {
  Tensor x = from_data({1.f}, {1});
  int line = __LINE__ + 1;
  Tensor e = exp(x);
  EXPECT_EQ(e.node()->loc.line(), static_cast<uint_least32_t>(line));
  EXPECT_THAT(e.node()->loc.file_name(), ::testing::HasSubstr("eval_test.cpp"));
  int op_line = __LINE__ + 1;
  Tensor s = x * 2.0;
  EXPECT_EQ(s.node()->loc.line(), static_cast<uint_least32_t>(op_line));
  // The weak scalar's constant records the same site.
  ir::Graph g = graph_of(s);
  for (const auto& n : g.nodes) {
    if (n->op != ir::OpKind::Constant || n->type.rank() == 0) {
      EXPECT_EQ(n->loc.line(), static_cast<uint_least32_t>(op_line)) << ir::op_name(n->op);
    }
  }
  int neg_line = __LINE__ + 1;
  Tensor n = -x;
  EXPECT_EQ(n.node()->loc.line(), static_cast<uint_least32_t>(neg_line));
  // Composite ops stamp every node they build with the user's call.
  int sm_line = __LINE__ + 1;
  Tensor sm = softmax(from_data({1.f, 2.f}, {2}));
  for (const auto& node : graph_of(sm).nodes) {
    if (node->op != ir::OpKind::Constant || node->type.rank() == 0) {
      EXPECT_EQ(node->loc.line(), static_cast<uint_least32_t>(sm_line)) << ir::op_name(node->op);
    }
  }
}

TEST(Tensor, Accessors) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(x.ndim(), 3);
  EXPECT_EQ(x.size(), 24);
  EXPECT_EQ(x.shape(0), 2);
  EXPECT_EQ(x.shape(-1), 4);
  EXPECT_EQ(x.type().str(), "f32[2,3,4]");
  EXPECT_EQ(x.dtype(), DType::F32);
  Tensor copy = x;
  EXPECT_EQ(copy.node(), x.node());
  expect_error<AxisError>([&] { (void)x.shape(3); }, {"axis 3", "f32[2,3,4]"});
  expect_error<Error>([] { Tensor t(nullptr); }, {"null node"});
}

TEST(Tensor, ReadErrors) {
  expect_error<ShapeError>(
      [] {
        (void)zeros({2, 3}).item<float>();
      },
      {"item: the tensor f32[2,3] has 6 elements", "exactly one"});
  expect_error<DTypeError>(
      [] { (void)zeros({2}).to_vector<int32_t>(); },
      {"to_vector<int32_t>: the tensor is f32[2]", "to_vector<float>()", "cast it to i32"});
  expect_error<DTypeError>([] { (void)zeros({}).item<double>(); }, {"item<double>", "f32[]"});
  expect_error<DTypeError>([] { (void)zeros({1}, DType::I64).item<int32_t>(); },
                           {"item<int32_t>", "i64[1]", "item<int64_t>()"});
  // Size-1 tensors of any rank have an item; f16 and bf16 read as float.
  EXPECT_EQ(full({1, 1}, 4.0).item<float>(), 4.f);
  EXPECT_EQ(full({2}, 0.5, DType::BF16).to_vector<float>(), (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(full({}, 7, DType::U8).item<uint8_t>(), 7);
  EXPECT_TRUE(full({}, true).item<bool>());
}

}  // namespace
}  // namespace kiln
