/// a × b, or nil when it overflows (counts read from a damaged file can be anything).
func checkedProduct(_ a: Int, _ b: Int) -> Int? {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow || a < 0 || b < 0 ? nil : product
}

/// a + b, or nil when it overflows.
func checkedSum(_ a: Int, _ b: Int) -> Int? {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? nil : sum
}
