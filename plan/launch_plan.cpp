#include "plan/launch_plan.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace netc::rt {

int64_t TensorSlot::elements(int64_t batch) const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d == kBatchDim ? batch : d;
  return n;
}

int elem_bytes(ElemType t) { return t == ElemType::u8 || t == ElemType::i8 ? 1 : 4; }

int64_t TensorSlot::bytes(int64_t batch) const { return elements(batch) * elem_bytes(type); }

NLOHMANN_JSON_SERIALIZE_ENUM(Region, {{Region::persistent, "persistent"}, {Region::arena, "arena"}})
NLOHMANN_JSON_SERIALIZE_ENUM(ElemType, {{ElemType::f32, "f32"},
                                        {ElemType::i32, "i32"},
                                        {ElemType::u8, "u8"},
                                        {ElemType::i8, "i8"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TensorSlot, name, shape, type, region, offset,
                                                channels_last)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(KernelCall, name, args, num_inputs, scalars, flops_fixed,
                                   flops_per_example, kind, ops, sources)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Update, target, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NamedSlot, name, slot, num_classes, label)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Program, kernels, prepare, updates, inputs, outputs, loss)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Init, slot, scheme, fan_in, fan_out, scale,
                                                trainable, is_state, values_offset)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Hyper, name, slot, value)

std::string hash_values(const std::vector<float>& values) {
  uint64_t h = 14695981039346656037ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  for (size_t i = 0; i < values.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

std::string plan_to_json(const Plan& p) {
  nlohmann::json j = {{"model", p.model},
                      {"source_file", p.source_file},
                      {"fingerprint", p.fingerprint},
                      {"max_batch", p.max_batch},
                      {"slots", p.slots},
                      {"persistent_bytes", p.persistent_bytes},
                      {"arena_bytes", p.arena_bytes},
                      {"arena_bytes_without_reuse", p.arena_bytes_without_reuse},
                      {"inits", p.inits},
                      {"hypers", p.hypers},
                      {"train", p.train},
                      {"infer", p.infer},
                      {"config", nlohmann::json::parse(train_config_to_json(p.config))},
                      {"trainable_parameters", p.trainable_parameters},
                      {"initial_values_count", p.initial_values_count},
                      {"initial_values_hash", p.initial_values_hash}};
  return j.dump();
}

Plan plan_from_json(const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    Plan p;
    p.model = j.at("model").get<std::string>();
    p.fingerprint = j.at("fingerprint").get<std::string>();
    p.source_file = j.at("source_file").get<std::string>();
    p.max_batch = j.at("max_batch").get<int64_t>();
    p.slots = j.at("slots").get<std::vector<TensorSlot>>();
    p.persistent_bytes = j.at("persistent_bytes").get<int64_t>();
    p.arena_bytes = j.at("arena_bytes").get<int64_t>();
    p.arena_bytes_without_reuse = j.at("arena_bytes_without_reuse").get<int64_t>();
    p.inits = j.at("inits").get<std::vector<Init>>();
    p.hypers = j.at("hypers").get<std::vector<Hyper>>();
    p.train = j.at("train").get<Program>();
    p.infer = j.at("infer").get<Program>();
    p.config = train_config_from_json(j.at("config").dump());
    p.trainable_parameters = j.at("trainable_parameters").get<int64_t>();
    p.initial_values_count = j.value("initial_values_count", int64_t{0});
    p.initial_values_hash = j.value("initial_values_hash", std::string());
    return p;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("malformed launch plan: ") + e.what());
  }
}

Plan plan_with_values(const std::string& json, const float* values, int64_t count) {
  Plan p = plan_from_json(json);
  if (count != p.initial_values_count)
    throw std::runtime_error(fmt::format("the plan expects {} start values, the binary holds {}",
                                         p.initial_values_count, count));
  if (count > 0) {
    p.initial_values.assign(values, values + count);
    if (hash_values(p.initial_values) != p.initial_values_hash)
      throw std::runtime_error("the start values linked into the binary are not the plan's");
  }
  return p;
}

} // namespace netc::rt
