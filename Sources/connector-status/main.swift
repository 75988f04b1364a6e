import RedisClient
print("placeholder")
