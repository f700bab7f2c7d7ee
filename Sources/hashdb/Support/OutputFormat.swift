import ArgumentParser

enum RecordFormat: String, ExpressibleByArgument, CaseIterable {
    case jsonl
    case tsv
}
