// Tensor types of the IR: an element type and a static shape whose dimensions
// may include the symbolic batch extent, which is only known at run time (one
// binary serves batch 1 inference and the last, partial training batch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

// u8 and i8 hold quantized tensors (passes/quantize.h): activations as
// unsigned bytes with a zero point, weights as signed bytes, the operand
// types of the CPU's u8 x i8 dot products (AVX-512 VNNI).
enum class DType : uint8_t { f32, f64, i32, i64, u8, i8 };

std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);
inline bool is_float(DType t) { return t == DType::f32 || t == DType::f64; }
// Bytes of one element in a compiled binary's buffers.
int dtype_bytes(DType t);

// The symbolic batch dimension. Any other dimension is a positive constant.
inline constexpr int64_t kBatch = -1;

// Dimensions of a shape never exceed this in element count (2^48): products
// of them stay far from int64 overflow, and every index fits in int64.
inline constexpr int64_t kMaxElements = int64_t(1) << 48;

struct Shape {
  std::vector<int64_t> dims;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d) : dims(d) {}
  explicit Shape(std::vector<int64_t> d) : dims(std::move(d)) {}

  int rank() const { return static_cast<int>(dims.size()); }
  int64_t operator[](int i) const { return dims[static_cast<size_t>(i)]; }
  bool has_batch() const;
  // Product of the constant dimensions (the batch dimension counts as 1).
  int64_t static_elements() const;
  // Element count once the batch extent is known.
  int64_t elements(int64_t batch) const;
  // The shape with the batch dimension replaced by a concrete extent.
  std::vector<int64_t> concrete(int64_t batch) const;
  friend bool operator==(const Shape&, const Shape&) = default;
};

// "[batch,1,28,28]"
std::string to_string(const Shape& s);

// Builds a shape, checking that every dimension is positive (or the batch
// marker) and that the element count stays under kMaxElements. Throws
// ShapeError naming the offending shape.
Shape checked_shape(std::vector<int64_t> dims);

struct TensorType {
  DType dtype = DType::f32;
  Shape shape;
  friend bool operator==(const TensorType&, const TensorType&) = default;
};

// "f32[batch,10]"; a scalar prints as "f32[]".
std::string to_string(const TensorType& t);

} // namespace netc
