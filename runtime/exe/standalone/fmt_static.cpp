// fmt, compiled into the executable that `netc compile` links, so that a
// compiled model needs no libfmt.so at run time (issue 13, "standalone
// binaries"; Debian's libfmt-dev ships only the shared library).
//
// How: fmt's non-template functions are defined in <fmt/format-inl.h> (as
// FMT_FUNC, empty unless FMT_HEADER_ONLY); including it here compiles them
// once. The templates that <fmt/format.h> declares `extern template` are
// instantiated below, the same set that fmt's own src/format.cc instantiates
// for its library. The rest of netc is compiled against the ordinary headers
// (no FMT_HEADER_ONLY, so no slower compile of every file); only this
// archive, libnetc_fmt_static.a, carries the implementation, and only the
// compiled models link it (last, after the runtime archives that use it).
// tests/e2e/standalone_test.cpp checks `ldd`.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;

template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API void buffer<char>::append(const char*, const char*);
template FMT_API void vformat_to(buffer<char>&, string_view,
                                 basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);

template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;
template FMT_API void buffer<wchar_t>::append(const wchar_t*, const wchar_t*);

} // namespace detail
FMT_END_NAMESPACE
