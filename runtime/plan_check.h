// Checks a launch plan before anything runs on it. The plan arrives as JSON
// written by another program (the compiler), and a wrong offset or slot id
// would otherwise become a wild write inside a kernel; here it becomes a
// message instead.
#pragma once

#include "plan/launch_plan.h"

namespace netc::rt {

// Throws Error naming the first inconsistency: a slot outside its
// region, a bad slot id, an update between tensors of different sizes, an
// unknown initializer or kernel scalar, ...
void check_plan(const Plan& plan);

// The scalars a KernelCall may list (plan.h), in no particular order.
bool is_kernel_scalar(const std::string& name);

} // namespace netc::rt
