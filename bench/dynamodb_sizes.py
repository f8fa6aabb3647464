"""What DynamoDB bills: the size of an item as its billing rule counts it (shared by the benchmarks)."""


def item_size(raw: dict) -> int:
    """DynamoDB's item size rule: attribute name bytes plus value bytes."""
    def value_size(value: dict) -> int:
        (kind, content), = value.items()
        if kind == "S":
            return len(content.encode())
        if kind == "B":
            return len(content)
        if kind == "N":
            return len(content.lstrip("-").replace(".", "")) // 2 + 1
        if kind in ("SS", "NS"):
            return sum(value_size({kind[0]: v}) for v in content)
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in content.items())
        if kind == "L":
            return 3 + sum(value_size(v) + 1 for v in content)
        return 1
    return sum(len(name.encode()) + value_size(value) for name, value in raw.items())
