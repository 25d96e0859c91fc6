#pragma once
// "Did you mean ...?": the nearest known word to a misspelt one (commands, flags, .env keys).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oauthdemo {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// adjacent characters count one each ("statsu" -> "status" is 1). Case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` if it is close enough to be a typo: at most 1 edit for words
// up to 5 characters, 2 up to 11, 3 beyond. The first of equally near candidates; nullopt when
// none is near or `word` is itself a candidate.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace oauthdemo
