from textkit import to_camel, to_snake


def test_to_snake_camel():
    assert to_snake("parseHttpHeader") == "parse_http_header"


def test_to_snake_pascal():
    assert to_snake("UserAccount") == "user_account"


def test_to_snake_keeps_snake():
    assert to_snake("already_snake") == "already_snake"


def test_to_snake_digits():
    assert to_snake("version2Update") == "version2_update"


def test_to_camel():
    assert to_camel("parse_http_header") == "parseHttpHeader"
    assert to_camel("user_account", upper_first=True) == "UserAccount"
