import CHiredis

extension RedisValue {
    /// Copies a hiredis reply tree into Swift values. Does not free `reply`.
    init(copying reply: UnsafePointer<redisReply>) {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            if node.len == 0 || node.str == nil {
                self = .bulkString([])
            } else {
                self = .bulkString(Array(UnsafeRawBufferPointer(start: node.str, count: node.len)))
            }
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(node.integer))
        case REDIS_REPLY_NIL:
            self = .null
        case REDIS_REPLY_STATUS:
            self = .simpleString(Self.text(node))
        case REDIS_REPLY_ERROR:
            self = .error(RedisServerError(message: Self.text(node)))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(node.elements)
            for index in 0..<node.elements {
                if let element = chiredis_element(reply, index) {
                    elements.append(RedisValue(copying: element))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:
            self = .error(RedisServerError(message: "ERR unknown reply type \(node.type)"))
        }
    }

    private static func text(_ node: redisReply) -> String {
        guard let str = node.str, node.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: node.len), as: UTF8.self)
    }
}
