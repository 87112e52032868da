/// Holds a large record behind one reference, so that copying an index entry (dictionary iteration, snapshots,
/// closures) costs one retain instead of one per string and array inside the record.
final class SharedBox<Value: Sendable>: Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
