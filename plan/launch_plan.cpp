#include "plan/launch_plan.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace netc::rt {

int64_t TensorSlot::elements(int64_t batch) const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d == kBatchDim ? batch : d;
  return n;
}

int64_t TensorSlot::bytes(int64_t batch) const { return elements(batch) * 4; }

NLOHMANN_JSON_SERIALIZE_ENUM(Region, {{Region::persistent, "persistent"}, {Region::arena, "arena"}})
NLOHMANN_JSON_SERIALIZE_ENUM(ElemType, {{ElemType::f32, "f32"}, {ElemType::i32, "i32"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TensorSlot, name, shape, type, region, offset)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(KernelCall, name, args, num_inputs, scalars, flops_fixed,
                                   flops_per_example, kind, ops, sources)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Update, target, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NamedSlot, name, slot, num_classes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Program, kernels, prepare, updates, inputs, outputs, loss)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Init, slot, scheme, fan_in, fan_out, scale, trainable, is_state)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Hyper, name, slot, value)

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
                      {"trainable_parameters", p.trainable_parameters}};
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
    return p;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("malformed launch plan: ") + e.what());
  }
}

} // namespace netc::rt
