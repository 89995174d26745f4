/// Lines two sequences up as diff does: the longest common subsequence of items that are
/// equal, as (index in the first, index in the second) pairs in order.
enum Alignment {
    static func longestCommonPairs(_ count: Int, _ otherCount: Int, equal: (Int, Int) -> Bool) -> [(Int, Int)] {
        guard count > 0, otherCount > 0 else { return [] }
        // lengths[i][j]: the longest common run of the suffixes from i and j.
        let width = otherCount + 1
        var lengths = [Int](repeating: 0, count: (count + 1) * width)
        for i in stride(from: count - 1, through: 0, by: -1) {
            for j in stride(from: otherCount - 1, through: 0, by: -1) {
                lengths[i * width + j] = equal(i, j)
                    ? lengths[(i + 1) * width + j + 1] + 1
                    : max(lengths[(i + 1) * width + j], lengths[i * width + j + 1])
            }
        }
        var pairs: [(Int, Int)] = []
        var i = 0
        var j = 0
        while i < count, j < otherCount {
            if equal(i, j), lengths[i * width + j] == lengths[(i + 1) * width + j + 1] + 1 {
                pairs.append((i, j))
                i += 1
                j += 1
            } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                i += 1
            } else {
                j += 1
            }
        }
        return pairs
    }
}
