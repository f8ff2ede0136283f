// Small ONNX models built with the protobuf API, imported, and run on the
// reference interpreter: the unit tests of frontend/onnx.
#pragma once

#include "frontend/onnx/onnx_import.h"
#include "ir/error.h"
#include "ir/interpreter.h"

#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

namespace netc::onnx_test {

// Dimensions: a negative entry is a symbolic dimension ("N").
class ModelMaker {
public:
  explicit ModelMaker(int64_t opset = 13) {
    m_.set_ir_version(8);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m_.mutable_graph()->set_name("test");
  }

  onnx::ModelProto& proto() { return m_; }
  onnx::GraphProto& graph() { return *m_.mutable_graph(); }

  void input(const std::string& name, const std::vector<int64_t>& dims,
             int elem = onnx::TensorProto::FLOAT) {
    auto* v = graph().add_input();
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(elem);
    for (int64_t d : dims) {
      auto* dim = t->mutable_shape()->add_dim();
      if (d < 0)
        dim->set_dim_param("N");
      else
        dim->set_dim_value(d);
    }
  }

  void output(const std::string& name) { graph().add_output()->set_name(name); }

  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + std::to_string(graph().node_size()) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }

  onnx::TensorProto& initializer(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<float>& data) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float x : data) t->add_float_data(x);
    return *t;
  }

  onnx::TensorProto& ints(const std::string& name, const std::vector<int64_t>& data) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(data.size()));
    for (int64_t x : data) t->add_int64_data(x);
    return *t;
  }

  ImportedModel import(const OnnxImportOptions& o = {}) const {
    return import_onnx_bytes(m_.SerializeAsString(), "test.onnx", o);
  }

private:
  onnx::ModelProto m_;
};

// All diagnostics of the UserError that `f` throws, joined by newlines; a
// test failure when it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  FAIL("no UserError was thrown");
  return "";
}

inline void attr(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline void attr(onnx::NodeProto& n, const std::string& name, double v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
}

inline void attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline void attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

inline Tensor<float> tensor(std::vector<int64_t> shape, std::vector<float> data) {
  Tensor<float> t(std::move(shape));
  REQUIRE(static_cast<size_t>(t.size()) == data.size());
  t.data = std::move(data);
  return t;
}

// Runs an imported model on the reference interpreter (inference) and
// returns its outputs in order.
inline std::vector<Tensor<float>>
run(const ImportedModel& m, const std::map<std::string, Tensor<float>>& inputs, int64_t batch = 1) {
  std::map<std::string, Tensor<float>> values = m.weights;
  for (const auto& [k, v] : inputs) values[k] = v;
  RefContext<float> ctx;
  ctx.batch = batch;
  ctx.values = &values;
  std::vector<Tensor<float>> all = interpret(m.graph, ctx);
  std::vector<Tensor<float>> out;
  for (const NamedValue& o : m.graph.outputs) out.push_back(all[size_t(o.value)]);
  return out;
}

inline void check_close(const Tensor<float>& got, const std::vector<int64_t>& shape,
                        const std::vector<float>& want, double tol = 1e-5) {
  REQUIRE(got.shape == shape);
  REQUIRE(got.data.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i)
    CHECK(got.data[i] == doctest::Approx(want[i]).epsilon(tol));
}

// The number of nodes of one op kind in a graph.
inline int count_ops(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == k;
  return n;
}

// Six values around zero for elementwise cases, as a [2, 3] tensor.
inline const std::vector<float> kX = {-2.0f, -0.5f, 0.25f, 0.5f, 2.0f, 3.0f};

// A bool initializer (0/1 values).
inline void bools(ModelMaker& mm, const std::string& name, const std::vector<int64_t>& dims,
                  const std::vector<int>& data) {
  auto& t = mm.initializer(name, dims, {});
  t.set_data_type(onnx::TensorProto::BOOL);
  for (int v : data) t.add_int32_data(v);
}

// Imported as the conformance runner does: every dimension static, the
// first one an ordinary axis (gathered, padded, normalized over).
inline ImportedModel import_static(const ModelMaker& mm) {
  OnnxImportOptions o;
  o.static_first_dim_is_batch = false;
  return mm.import(o);
}

} // namespace netc::onnx_test
